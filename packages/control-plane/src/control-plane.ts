import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createDashboardHandler } from '@weft/dashboard'
import { CertificateAuthority, FileCaStore } from '@weft/identity'
import { StateSnapshot } from './config-views.js'
import { Credentials } from './credentials.js'
import { createApiHandler } from './http-api.js'
import { readOrCreateSecret } from './secret-file.js'
import type { ConfigStore } from './store/config-store.js'
import { FileStore } from './store/file-store.js'
import { MeshTraffic } from './traffic/mesh-traffic.js'
import { WatchHub } from './watch-hub.js'
import { WorkloadStatuses } from './workload-status.js'

export interface ControlPlaneOptions {
  /** Default 15010; 0 picks a free port. */
  readonly port?: number
  /** Default 127.0.0.1: expose it on purpose (`0.0.0.0`), not by accident. */
  readonly host?: string
  /** Where the file store keeps its state and where generated secrets live. */
  readonly dataDir: string
  /** Another store (an EtcdStore, for replicas); default a FileStore in `dataDir`. */
  readonly store?: ConfigStore
  /** Default `WEFT_ADMIN_TOKEN`, else one generated on first start in `dataDir/admin-token`. */
  readonly adminToken?: string
  /** How long a registered endpoint lives without a heartbeat. Default 10 s. */
  readonly leaseTtlMs?: number
  /** One line per event worth an operator's eye; never a token. Default: none. */
  readonly log?: (line: string) => void
  /**
   * The CA that signs workload certificates: a directory with its material (generated on first
   * start, or Istio's plug-in `cacerts` files an operator put there). Replicas over etcd must be
   * given the same directory contents. Default `dataDir/ca`.
   */
  readonly caDir?: string
  /** The mesh's trust domain. Default `cluster.local`. */
  readonly trustDomain?: string
  /** Lifetime of a workload certificate. Default 24 h. */
  readonly certificateTtlMs?: number
}

/** A running control plane. */
export interface ControlPlane {
  readonly url: string
  readonly port: number
  readonly store: ConfigStore
  /** Where the generated admin token was written, when it was not given. */
  readonly adminTokenFile: string | undefined
  readonly credentials: Credentials
  /** Signs workload certificates for authenticated workloads (`POST /api/v1/certificates`). */
  readonly ca: CertificateAuthority
  close(): Promise<void>
}

/**
 * Starts the config service: the HTTP API and watch streams over a store. It is never on the
 * request path — SDKs keep serving with their last snapshot while it is away.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const log = options.log ?? (() => {})
  const store = options.store ?? new FileStore(options.dataDir)
  await store.start()
  let adminTokenFile: string | undefined
  let adminToken = options.adminToken ?? process.env.WEFT_ADMIN_TOKEN
  if (!adminToken) {
    // Generated once and shared by every replica of the store; a copy for the operator to read.
    adminToken = await store.secret('admin-token', Credentials.generateSecret)
    adminTokenFile = join(options.dataDir, 'admin-token')
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
    await readOrCreateSecret(adminTokenFile, () => adminToken as string)
  }
  const signingKey = Buffer.from(await store.secret('token-key', Credentials.generateSecret), 'base64url')
  const credentials = new Credentials(adminToken, signingKey)
  const ca = await CertificateAuthority.open({
    store: new FileCaStore(options.caDir ?? join(options.dataDir, 'ca')),
    ...(options.trustDomain ? { trustDomain: options.trustDomain } : {}),
    ...(options.certificateTtlMs ? { defaultTtlMs: options.certificateTtlMs } : {}),
  })
  const statuses = new WorkloadStatuses()
  // Names this store's history, so that versions from another store are never taken for its own.
  const storeId = await store.secret('store-id', () => randomUUID())
  const hub = new WatchHub(store.state(), statuses, () => ca.trustBundlePem, storeId)
  const unsubscribe = store.subscribe((state) => hub.update(state))
  let ready = true
  const views = new StateSnapshot()
  const traffic = new MeshTraffic({ store, views, statuses, log })
  const api = createApiHandler({
    store,
    credentials,
    statuses,
    hub,
    traffic,
    ca,
    views,
    leaseTtlMs: options.leaseTtlMs ?? 10_000,
    log,
    ready: () => ready,
  })
  // The dashboard's files hold no data (the page reads the API with its token): served openly.
  const dashboard = createDashboardHandler()
  const server: Server = createServer((req, res) => {
    if (!dashboard(req, res)) api(req, res)
  })
  // Watch streams are long-lived; the default request timeout would cut them.
  server.requestTimeout = 0
  server.keepAliveTimeout = 65_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 15010, options.host ?? '127.0.0.1', () => resolve())
  })
  const { port, address } = server.address() as AddressInfo
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`
  log(`control plane on ${url}, store at version ${store.state().revision}`)
  return {
    url,
    port,
    store,
    adminTokenFile,
    credentials,
    ca,
    async close() {
      ready = false
      unsubscribe()
      hub.close()
      traffic.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await store.close()
    },
  }
}
