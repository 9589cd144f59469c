import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ServerInterceptor } from '@grpc/grpc-js'
import { clusterHealth, createMeshDispatcher, type MeshGrpc, meshGrpc } from '@weft/client'
import {
  ConfigInvalidError,
  compileSnapshot,
  type Diagnostic,
  formatDiagnostic,
  hasErrors,
  loadConfig,
  type RegistryEndpoint,
  type Snapshot,
} from '@weft/config'
import { createWorkloadIdentity, type WorkloadIdentity, watchSvidFiles } from '@weft/identity'
import { createInboundPolicy, type InboundMeshConfig, type InboundPolicy } from '@weft/server'
import { createTelemetry, runUntraced, type Telemetry } from '@weft/telemetry'
import { type Dispatcher, fetch as undiciFetch } from 'undici'
import { readConfigFiles, watchConfigFiles } from './config-source.js'
import { ControlPlaneClient, type SnapshotPayload } from './control-plane-client.js'
import { MeshOptionsError } from './errors.js'
import {
  type ListenHandler,
  type ListenOptions,
  type MeshListener,
  openListener,
  peerAuthenticationModes,
} from './mesh-listen.js'
import { reportIntervalMs, TrafficReporter } from './traffic-reporter.js'
import { ValidatedResources } from './validated-resources.js'

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
  /**
   * With a control plane: how often this instance reports its traffic and what its clusters see
   * (`WEFT_REPORT_INTERVAL_MS`), for the control plane's service graph. Default 5000 ms; 0 stops it.
   */
  readonly reportIntervalMs?: number
  /** How long `createMesh` waits for the control plane's first snapshot. Default 5000 ms. */
  readonly startTimeoutMs?: number
  /** Istio's `outboundTrafficPolicy.mode`. Default `ALLOW_ANY`. */
  readonly outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY'
  /**
   * Where this instance runs, `region/zone/subzone` (`WEFT_LOCALITY`): locality load balancing
   * prefers endpoints near it. Unset: no locality preference.
   */
  readonly locality?: string
  /**
   * Standalone mutual TLS: an X.509-SVID from files (as SPIRE or cert-manager write them),
   * reloaded when they change. With a control plane, the certificate comes from its CA instead.
   */
  readonly identity?: { readonly cert: string; readonly key: string; readonly bundle: string }
  /** With a control plane: get a certificate from its CA and speak mutual TLS. Default true. */
  readonly mtls?: boolean
  /** The parts of Istio's MeshConfig the inbound side reads: `extensionProviders` (CUSTOM authorizers), `pathNormalization`. */
  readonly meshConfig?: InboundMeshConfig
  /**
   * Telemetry settings: `tracing` (default on, through the application's OpenTelemetry SDK),
   * `accessLog` (where access-log lines go when a Telemetry resource turns it on; default
   * stdout), `workload` (the name Istio's `*_workload` labels carry; default `app-version`).
   */
  readonly telemetry?: {
    readonly tracing?: boolean
    readonly accessLog?: { write(line: string): unknown }
    readonly workload?: string
  }
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
  /**
   * gRPC through the mesh: `new Client(mesh.grpc.target('reviews', 9080), credentials,
   * mesh.grpc.channelOptions)` for calls; `new Server({ interceptors: [mesh.grpc.serverInterceptor] })`
   * for the inbound policy on a gRPC server.
   */
  readonly grpc: MeshGrpc & { readonly serverInterceptor: ServerInterceptor }
  /** Istio's standard metrics and Weft's own, as a prom-client Registry (merge it with yours). */
  readonly metrics: Telemetry['metrics']
  /** `(req, res)` answering with `metrics` in Prometheus' text format: mount it at `/metrics`. */
  readonly metricsHandler: Telemetry['metricsHandler']
  readonly telemetry: Telemetry
  readonly #inbound: InboundPolicy
  #identity: WorkloadIdentity | undefined
  readonly #listeners: MeshListener[] = []
  #snapshot: Snapshot
  #stopWatching: (() => void) | undefined
  #controlPlane: ControlPlaneClient | undefined
  readonly #validated = new ValidatedResources()
  #reporter: TrafficReporter | undefined
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
    const snapshotNow = () => this.#snapshot
    const telemetry = createTelemetry({
      service: this.service,
      namespace: this.namespace,
      labels: this.labels,
      snapshot: snapshotNow,
      ...(options.telemetry?.tracing !== undefined ? { tracing: options.telemetry.tracing } : {}),
      ...(options.telemetry?.accessLog ? { accessLog: options.telemetry.accessLog } : {}),
      ...(options.telemetry?.workload ? { workload: options.telemetry.workload } : {}),
    })
    this.telemetry = telemetry
    this.metrics = telemetry.metrics
    this.metricsHandler = telemetry.metricsHandler
    this.dispatcher = createMeshDispatcher({
      snapshot: snapshotNow,
      source,
      telemetry: telemetry.outbound,
      identity: () => this.#identity,
    })
    this.#inbound = createInboundPolicy({
      snapshot: snapshotNow,
      workload: { namespace: this.namespace, labels: this.labels },
      telemetry: telemetry.inbound,
      ...(options.meshConfig ? { meshConfig: options.meshConfig } : {}),
    })
    this.grpc = Object.freeze({
      ...meshGrpc({ snapshot: snapshotNow, source, telemetry: telemetry.outbound }),
      serverInterceptor: this.#inbound.grpcInterceptor(),
    })
  }

  /** This workload's certificate, when it has one (mutual TLS). */
  get identity(): WorkloadIdentity | undefined {
    return this.#identity
  }

  /** Express 5 middleware enforcing the workload's inbound policy: `app.use(mesh.express())`, first. */
  express(): ReturnType<InboundPolicy['express']> {
    return this.#inbound.express()
  }

  /** Fastify 5 plugin enforcing the workload's inbound policy: `await app.register(mesh.fastify())`. */
  fastify(): ReturnType<InboundPolicy['fastify']> {
    return this.#inbound.fastify()
  }

  /**
   * Serves `handler` (an Express app, a `(req, res)` function, Fastify's `routing`) on a port,
   * plaintext or mutual TLS as the PeerAuthentication in force says, and registers the endpoint
   * with the control plane (it is deregistered on `close`). The inbound policy is the
   * middleware's or plugin's job: mount `mesh.express()` / `mesh.fastify()` in the app.
   */
  async listen(handler: ListenHandler, options: ListenOptions = {}): Promise<MeshListener> {
    const modes = peerAuthenticationModes(() => this.#snapshot, this.namespace, this.labels)
    const { listener, port, address } = await openListener(handler, options, modes, this.#identity)
    await this.#controlPlane?.register({
      service: this.service,
      namespace: this.namespace,
      address,
      port,
      labels: this.labels,
      ...(this.#options.locality ? { locality: this.#options.locality } : {}),
      mtls: this.#identity !== undefined,
    })
    const served: MeshListener = { port, address, close: () => listener.close() }
    this.#listeners.push(served)
    return served
  }

  /** @internal */
  useIdentity(identity: WorkloadIdentity): void {
    this.#identity = identity
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
   * Applies a snapshot from the control plane, as an SDK must: validated (each resource once
   * per version of it) and compiled again here; refused (the old rules stay, event `refused`)
   * with the reason its NACK carries.
   * @internal
   */
  applyPayload(payload: SnapshotPayload): string | undefined {
    try {
      const validated = this.#validated.validate(payload.resources, payload.store, 'control-plane')
      if (hasErrors(validated.diagnostics)) {
        this.emit('refused', validated.diagnostics)
        return validated.diagnostics
          .filter((d) => d.severity === 'error')
          .map(formatDiagnostic)
          .join('; ')
      }
      const registry = [...(this.#options.registry ?? []), ...payload.endpoints]
      if (payload.trustBundle) this.#identity?.setTrustBundle(payload.trustBundle)
      const snapshot = compileSnapshot(validated.resources, {
        trusted: true,
        registry,
        previous: this.#snapshot,
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
  connect(client: ControlPlaneClient, reporter?: TrafficReporter): void {
    this.#controlPlane = client
    this.#reporter = reporter
    reporter?.start()
  }

  #install(snapshot: Snapshot): void {
    if (snapshot.version === this.#snapshot.version) return
    this.#snapshot = snapshot
    this.grpc.refresh()
    this.emit('snapshot', snapshot)
  }

  async close(): Promise<void> {
    await this.#reporter?.stop()
    await this.#controlPlane?.close()
    this.#stopWatching?.()
    await Promise.all(this.#listeners.map((l) => l.close()))
    this.grpc.close()
    this.#identity?.close()
    await this.#inbound.close()
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
    if (options.identity) mesh.useIdentity(await watchSvidFiles(options.identity))
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
  const instance = `${options.service}-${randomUUID().slice(0, 8)}`
  const intervalMs = reportIntervalMs(options.reportIntervalMs, process.env.WEFT_REPORT_INTERVAL_MS)
  let lastBundle: string | undefined
  const mesh = new Mesh(
    options,
    compileSnapshot([], { trusted: true, ...(options.registry ? { registry: options.registry } : {}) }),
  )
  const client = new ControlPlaneClient({
    urls,
    token,
    instance,
    service: options.service,
    namespace,
    labels: mesh.labels,
    apply: (payload) => {
      if (payload.trustBundle) lastBundle = payload.trustBundle
      return mesh.applyPayload(payload)
    },
    cacheFile: join(cacheDir, `${namespace}.${options.service}.json`),
  })
  const reporter = new TrafficReporter({
    intervalMs,
    instance,
    edges: mesh.telemetry.edges,
    clusters: () => clusterHealth(mesh.telemetry.outbound),
    send: async (report) => (await client.call('POST', '/api/v1/reports', report)).status,
  })
  mesh.connect(client, reporter)
  const cached = await client.cached()
  const fromCache = cached !== undefined && mesh.applyPayload(cached) === undefined
  if (fromCache) {
    client.adopt(cached as SnapshotPayload)
    lastBundle = cached?.trustBundle
  }
  const connected = await client.start(options.startTimeoutMs ?? 5000)
  if (!connected && !fromCache) {
    await mesh.close()
    throw new MeshOptionsError(
      `no snapshot from the control plane at ${urls.join(', ')} within ${options.startTimeoutMs ?? 5000} ms, and none cached in ${cacheDir}; check the URL and token (WEFT_CONTROL_PLANE, WEFT_TOKEN)`,
    )
  }
  if (options.mtls !== false && lastBundle) {
    try {
      mesh.useIdentity(
        await createWorkloadIdentity({
          trustBundle: lastBundle,
          requestCertificate: async (csr) => {
            // The SDK's own call: never traced or counted as the application's traffic.
            const { status, json } = await runUntraced(() =>
              client.call('POST', '/api/v1/certificates', { csr }),
            )
            if (status !== 201) {
              throw new Error(
                `the control plane refused the certificate request (${status}): ${JSON.stringify(json)}`,
              )
            }
            return (json as { certificateChain: string }).certificateChain
          },
        }),
      )
    } catch (error) {
      // Without a certificate the workload still serves plaintext and calls out; STRICT peers refuse it.
      mesh.emit('refused', [
        {
          severity: 'error',
          code: 'WEFT_IDENTITY_UNAVAILABLE',
          message: `no workload certificate: ${(error as Error).message}`,
          field: '',
        },
      ])
    }
  }
  return mesh
}
