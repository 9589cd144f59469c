import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMeshDispatcher, type MeshGrpc, meshGrpc } from '@weft/client'
import {
  ConfigInvalidError,
  compileSnapshot,
  type Diagnostic,
  formatDiagnostic,
  hasErrors,
  loadConfig,
  objectDocument,
  type RegistryEndpoint,
  type Snapshot,
  validateDocuments,
} from '@weft/config'
import { type Dispatcher, fetch as undiciFetch } from 'undici'
import { readConfigFiles, watchConfigFiles } from './config-source.js'
import { ControlPlaneClient, type SnapshotPayload } from './control-plane-client.js'
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
  /**
   * The control plane's URL(s) (`WEFT_CONTROL_PLANE`, comma-separated): the rules and endpoints
   * come from it, and the mesh keeps serving its last snapshot while it is away.
   */
  readonly controlPlane?: string | readonly string[]
  /** The workload token (`WEFT_TOKEN`) from `weft token create`; needed with a control plane. */
  readonly token?: string
  /**
   * Where the last good snapshot is kept (`WEFT_CACHE_DIR`), so that a restart while the
   * control plane is away starts with the rules. Default: `weft-cache` in the OS temp folder.
   */
  readonly cacheDir?: string
  /** How long `createMesh` waits for the control plane's first snapshot. Default 5000 ms. */
  readonly startTimeoutMs?: number
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
  #controlPlane: ControlPlaneClient | undefined
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
      this.#install(await loadSnapshot(this.#options))
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

  /**
   * Applies a snapshot from the control plane, as an SDK must: validated and compiled again
   * here; refused (the old rules stay, event `refused`) with the reason its NACK carries.
   * @internal
   */
  applyPayload(payload: SnapshotPayload): string | undefined {
    try {
      const validated = validateDocuments(payload.resources.map((r) => objectDocument(r, 'control-plane')))
      if (hasErrors(validated.diagnostics)) {
        this.emit('refused', validated.diagnostics)
        return validated.diagnostics
          .filter((d) => d.severity === 'error')
          .map(formatDiagnostic)
          .join('; ')
      }
      const registry = [...(this.#options.registry ?? []), ...payload.endpoints]
      const snapshot = compileSnapshot(validated.resources, {
        trusted: true,
        registry,
        ...(this.#options.outboundTrafficPolicy
          ? { outboundTrafficPolicy: this.#options.outboundTrafficPolicy }
          : {}),
      })
      this.#install(snapshot)
      return undefined
    } catch (error) {
      const reason = `${(error as Error).name}: ${(error as Error).message}`
      this.emit('refused', [
        { severity: 'error', code: 'WEFT_SNAPSHOT_UNUSABLE', message: reason, field: '' },
      ])
      return reason
    }
  }

  /** @internal */
  connect(client: ControlPlaneClient): void {
    this.#controlPlane = client
  }

  #install(snapshot: Snapshot): void {
    if (snapshot.version === this.#snapshot.version) return
    this.#snapshot = snapshot
    this.grpc.refresh()
    this.emit('snapshot', snapshot)
  }

  async close(): Promise<void> {
    await this.#controlPlane?.close()
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
  const urls = controlPlaneUrls(options)
  if (urls.length > 0 && options.config !== undefined) {
    throw new MeshOptionsError('give either `controlPlane` or `config` (standalone), not both')
  }
  if (urls.length === 0) {
    const mesh = new Mesh(options, await loadSnapshot(options))
    const paths = configPaths(options)
    if (paths.length > 0) mesh.watch(paths)
    return mesh
  }
  return joinControlPlane(options, urls)
}

function controlPlaneUrls(options: MeshOptions): string[] {
  const given =
    options.controlPlane ?? (options.config === undefined ? process.env.WEFT_CONTROL_PLANE : undefined)
  const list = given === undefined ? [] : typeof given === 'string' ? given.split(',') : [...given]
  return list.map((u) => u.trim().replace(/\/+$/, '')).filter((u) => u !== '')
}

/**
 * Control-plane mode: rules and endpoints from the control plane's watch stream. A snapshot
 * cached on disk by an earlier run is put in force first, so that a restart while the control
 * plane is away still serves; then the watch resumes from its version.
 */
async function joinControlPlane(options: MeshOptions, urls: readonly string[]): Promise<Mesh> {
  const token = options.token ?? process.env.WEFT_TOKEN
  if (!token) {
    throw new MeshOptionsError(
      'a control plane needs a workload token: pass `token` or set WEFT_TOKEN (create one with `weft token create --namespace NS --service-account SA`)',
    )
  }
  const namespace = options.namespace ?? 'default'
  const cacheDir = options.cacheDir ?? process.env.WEFT_CACHE_DIR ?? join(tmpdir(), 'weft-cache')
  const mesh = new Mesh(
    options,
    compileSnapshot([], { trusted: true, ...(options.registry ? { registry: options.registry } : {}) }),
  )
  const client = new ControlPlaneClient({
    urls,
    token,
    instance: `${options.service}-${randomUUID().slice(0, 8)}`,
    service: options.service,
    namespace,
    labels: mesh.labels,
    apply: (payload) => mesh.applyPayload(payload),
    cacheFile: join(cacheDir, `${namespace}.${options.service}.json`),
  })
  mesh.connect(client)
  const cached = await client.cached()
  const fromCache = cached !== undefined && mesh.applyPayload(cached) === undefined
  if (fromCache) client.adopt((cached as SnapshotPayload).version)
  const connected = await client.start(options.startTimeoutMs ?? 5000)
  if (!connected && !fromCache) {
    await mesh.close()
    throw new MeshOptionsError(
      `no snapshot from the control plane at ${urls.join(', ')} within ${options.startTimeoutMs ?? 5000} ms, and none cached in ${cacheDir}; check the URL and token (WEFT_CONTROL_PLANE, WEFT_TOKEN)`,
    )
  }
  return mesh
}
