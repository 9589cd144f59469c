import { EventEmitter } from 'node:events'
import { createMeshDispatcher, type MeshGrpc, meshGrpc } from '@weft/client'
import {
  ConfigInvalidError,
  compileSnapshot,
  type Diagnostic,
  hasErrors,
  loadConfig,
  type RegistryEndpoint,
  type Snapshot,
} from '@weft/config'
import { type Dispatcher, fetch as undiciFetch } from 'undici'
import { readConfigFiles, watchConfigFiles } from './config-source.js'
import { MeshOptionsError } from './errors.js'

export interface MeshOptions {
  /** This workload's service name (`reviews`). */
  readonly service: string
  /** Default `default`. */
  readonly namespace?: string
  /** Pod labels (`{ version: 'v2' }`); `app` defaults to the service name. */
  readonly labels?: Readonly<Record<string, string>>
  /**
   * Standalone mode: Istio YAML files or folders, watched and hot-reloaded. A change that does
   * not validate is refused and the rules in force stay.
   */
  readonly config?: string | readonly string[]
  /** Endpoints of services, beside the ServiceEntries and WorkloadEntries the config declares. */
  readonly registry?: readonly RegistryEndpoint[]
  /** The control plane's URL(s) (`WEFT_CONTROL_PLANE`): not available in this version. */
  readonly controlPlane?: string | readonly string[]
  /** Istio's `outboundTrafficPolicy.mode`. Default `ALLOW_ANY`. */
  readonly outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY'
  /**
   * Where this instance runs, `region/zone/subzone` (`WEFT_LOCALITY`): locality load balancing
   * prefers endpoints near it. Unset: no locality preference.
   */
  readonly locality?: string
}

export interface MeshEvents {
  /** A new snapshot is in force. */
  snapshot: [snapshot: Snapshot]
  /** A config change was refused; the previous rules stay. As Envoy NACKs an update. */
  refused: [diagnostics: readonly Diagnostic[]]
}

/**
 * A service's membership of the mesh: the outbound dispatcher and `fetch`, and the rules in
 * force. It keeps the last good snapshot whatever happens to the config afterwards.
 */
export class Mesh extends EventEmitter<MeshEvents> {
  readonly service: string
  readonly namespace: string
  readonly labels: Readonly<Record<string, string>>
  readonly dispatcher: Dispatcher
  /** gRPC through the mesh: `new Client(mesh.grpc.target('reviews', 9080), credentials, mesh.grpc.channelOptions)`. */
  readonly grpc: MeshGrpc
  #snapshot: Snapshot
  #stopWatching: (() => void) | undefined
  readonly #options: MeshOptions

  /** Use `createMesh`, which loads the config first. */
  constructor(options: MeshOptions, snapshot: Snapshot) {
    super()
    this.#options = options
    this.service = options.service
    this.namespace = options.namespace ?? 'default'
    this.labels = Object.freeze({ app: options.service, ...options.labels })
    this.#snapshot = snapshot
    const locality = options.locality ?? process.env.WEFT_LOCALITY
    const source = Object.freeze({
      namespace: this.namespace,
      labels: this.labels,
      ...(locality ? { locality } : {}),
    })
    this.dispatcher = createMeshDispatcher({ snapshot: () => this.#snapshot, source })
    this.grpc = meshGrpc({ snapshot: () => this.#snapshot, source })
  }

  /** The snapshot in force. */
  get snapshot(): Snapshot {
    return this.#snapshot
  }

  /** WHATWG fetch through the mesh. */
  fetch: typeof undiciFetch = (input, init) => undiciFetch(input, { ...init, dispatcher: this.dispatcher })

  /** Re-reads the config files; on an invalid config keeps the old snapshot and emits `refused`. */
  async reload(): Promise<boolean> {
    try {
      const snapshot = await loadSnapshot(this.#options)
      if (snapshot.version !== this.#snapshot.version) {
        this.#snapshot = snapshot
        this.grpc.refresh()
        this.emit('snapshot', snapshot)
      }
      return true
    } catch (error) {
      const diagnostics =
        error instanceof ConfigInvalidError
          ? error.diagnostics
          : [
              {
                severity: 'error' as const,
                code: 'WEFT_CONFIG_UNREADABLE',
                message: (error as Error).message,
                field: '',
              },
            ]
      this.emit('refused', diagnostics)
      return false
    }
  }

  /** @internal */
  watch(paths: readonly string[]): void {
    this.#stopWatching = watchConfigFiles(paths, () => {
      void this.reload()
    })
  }

  async close(): Promise<void> {
    this.#stopWatching?.()
    this.grpc.close()
    await this.dispatcher.close()
  }
}

function configPaths(options: MeshOptions): string[] {
  const config = options.config
  return config === undefined ? [] : typeof config === 'string' ? [config] : [...config]
}

async function loadSnapshot(options: MeshOptions): Promise<Snapshot> {
  const texts = await readConfigFiles(configPaths(options))
  const loaded = loadConfig(texts, { defaultNamespace: options.namespace ?? 'default' })
  if (hasErrors(loaded.diagnostics)) throw new ConfigInvalidError(loaded.diagnostics)
  return compileSnapshot(loaded.resources, {
    trusted: true,
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.outboundTrafficPolicy ? { outboundTrafficPolicy: options.outboundTrafficPolicy } : {}),
  })
}

/**
 * Joins the mesh. In standalone mode (`config`) the rules come from local Istio YAML, watched
 * and hot-reloaded; an invalid config at start is an error (ConfigInvalidError, every problem
 * listed), later it is refused and the running rules stay.
 */
export async function createMesh(options: MeshOptions): Promise<Mesh> {
  if (!options.service)
    throw new MeshOptionsError('createMesh needs `service`: the name of the service this process is')
  if (options.controlPlane || (process.env.WEFT_CONTROL_PLANE && options.config === undefined)) {
    throw new MeshOptionsError(
      'control-plane mode is not available in this version of @weft/mesh; give `config` (Istio YAML files or folders) to run standalone',
    )
  }
  const mesh = new Mesh(options, await loadSnapshot(options))
  const paths = configPaths(options)
  if (paths.length > 0) mesh.watch(paths)
  return mesh
}
