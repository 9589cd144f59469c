import type { RegistryEndpoint, Resource } from '@weft/config'
import { resourceKey, seal } from '@weft/config'
import { Etcd3, type IKeyValue, type IWatchResponse, type IRequestOp as RequestOp, type Watcher } from 'etcd3'
import { ConflictError, StoreError } from '../errors.js'
import type { Change, ConfigStore, RegisteredEndpoint, StoredResource, StoreState } from './config-store.js'

const RESOURCES = 'resources/'
const ENDPOINTS = 'endpoints/'
const SECRETS = 'secrets/'

export interface EtcdStoreOptions {
  /** `http://127.0.0.1:2379`, … */
  readonly endpoints: readonly string[]
  /** Key prefix, so that several meshes can share one etcd. Default `/weft/`. */
  readonly prefix?: string
}

function text(kv: IKeyValue): string {
  return kv.key.toString('utf8')
}

/**
 * The store for replicas: resources under `PREFIX/resources/Kind/ns/name`, endpoints under
 * `PREFIX/endpoints/LEASE` bound to etcd leases (they go when the lease lapses, whichever
 * replica granted it), watched from etcd so that every replica serves the same state at the
 * same revision. An apply is one etcd transaction comparing `mod_revision`s: etcd's revision is
 * the config version and a resource's `mod_revision` its `resourceVersion`.
 */
export class EtcdStore implements ConfigStore {
  readonly #client: Etcd3
  readonly #prefix: string
  #state: StoreState = { revision: 0, resources: new Map(), endpoints: new Map() }
  readonly #listeners = new Set<(state: StoreState) => void>()
  readonly #waiters: { revision: number; resolve: () => void }[] = []
  #watcher: Watcher | undefined

  constructor(options: EtcdStoreOptions) {
    if (options.endpoints.length === 0)
      throw new StoreError('the etcd store needs at least one endpoint (--etcd-endpoints)')
    this.#client = new Etcd3({ hosts: [...options.endpoints] })
    this.#prefix = options.prefix ?? '/weft/'
  }

  async start(): Promise<void> {
    let loaded: Awaited<ReturnType<ReturnType<Etcd3['getAll']>['exec']>>
    try {
      loaded = await this.#client.getAll().prefix(this.#prefix).exec()
    } catch (error) {
      throw new StoreError(`cannot read etcd: ${(error as Error).message}`, { cause: error })
    }
    const resources = new Map<string, StoredResource>()
    const endpoints = new Map<string, RegisteredEndpoint>()
    for (const kv of loaded.kvs) this.#apply(resources, endpoints, 'Put', kv)
    const revision = Number(loaded.header.revision)
    this.#state = { revision, resources, endpoints }
    this.#watcher = await this.#client
      .watch()
      .prefix(this.#prefix)
      .startRevision(String(revision + 1))
      .create()
    this.#watcher.on('data', (res: IWatchResponse) => this.#onWatch(res))
  }

  state(): StoreState {
    return this.#state
  }

  subscribe(listener: (state: StoreState) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  async commit(change: Change): Promise<StoreState> {
    const key = (k: string) => `${this.#prefix}${RESOURCES}${k}`
    const compares = [...change.expect].map(([k, version]) =>
      version === null
        ? { key: key(k), column: 'Version' as const, value: 0 }
        : { key: key(k), column: 'Mod' as const, value: Number(version) },
    )
    const ops = [
      ...change.put.map((r) => this.#client.put(key(resourceKey(r))).value(JSON.stringify(r))),
      ...change.delete.map((k) => this.#client.delete().key(key(k))),
    ]
    let result: Awaited<ReturnType<ReturnType<Etcd3['if']>['commit']>>
    try {
      result = await this.#txn(compares, ops)
    } catch (error) {
      throw new StoreError(`etcd did not take the change: ${(error as Error).message}`, { cause: error })
    }
    if (!result.succeeded) {
      const stale = [...change.expect].map(([k]) => k).join(', ')
      throw new ConflictError(`${stale} changed since the resourceVersion given; read it again and reapply`)
    }
    await this.#caughtUp(Number(result.header.revision))
    return this.#state
  }

  async register(endpoint: RegistryEndpoint, ttlMs: number): Promise<string> {
    const lease = this.#client.lease(Math.max(1, Math.ceil(ttlMs / 1000)), { autoKeepAlive: false })
    try {
      const id = await lease.grant()
      const put = await lease.put(`${this.#prefix}${ENDPOINTS}${id}`).value(JSON.stringify(endpoint)).exec()
      lease.release()
      await this.#caughtUp(Number(put.header.revision))
      return id
    } catch (error) {
      throw new StoreError(`etcd did not take the registration: ${(error as Error).message}`, {
        cause: error,
      })
    }
  }

  /** One keepalive by lease ID, so that any replica can renew what another granted. */
  async keepAlive(lease: string): Promise<boolean> {
    const stream = await this.#client.leaseClient.leaseKeepAlive()
    try {
      const answer = await new Promise<{ TTL: string }>((resolve, reject) => {
        stream.on('data', resolve)
        stream.on('error', reject)
        stream.write({ ID: lease })
      })
      return Number(answer.TTL) > 0
    } finally {
      stream.end()
    }
  }

  async deregister(lease: string): Promise<void> {
    await this.#client.leaseClient.leaseRevoke({ ID: lease }).catch(() => {})
  }

  async close(): Promise<void> {
    await this.#watcher?.cancel()
    this.#client.close()
  }

  /** A shared secret every replica agrees on: read, or created once (the first writer wins). */
  async secret(name: string, create: () => string): Promise<string> {
    const key = `${this.#prefix}${SECRETS}${name}`
    await this.#client.if(key, 'Version', '==', 0).then(this.#client.put(key).value(create())).commit()
    return (await this.#client.get(key).string()) as string
  }

  async #txn(
    compares: readonly { key: string; column: 'Version' | 'Mod'; value: number }[],
    ops: readonly { op(): Promise<RequestOp> }[],
  ) {
    const [first, ...rest] = compares
    if (!first) {
      const success = await Promise.all(ops.map((o) => o.op()))
      return this.#client.kv.txn({ compare: [], success, failure: [] })
    }
    const builder = this.#client.if(first.key, first.column, '==', first.value)
    for (const c of rest) builder.and(c.key, c.column, '==', c.value)
    return builder.then(...ops).commit()
  }

  #onWatch(res: IWatchResponse): void {
    if (res.events.length === 0) return
    const resources = new Map(this.#state.resources)
    const endpoints = new Map(this.#state.endpoints)
    for (const event of res.events) this.#apply(resources, endpoints, event.type, event.kv)
    this.#state = { revision: Number(res.header.revision), resources, endpoints }
    for (const listener of this.#listeners) listener(this.#state)
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i] as { revision: number; resolve: () => void }
      if (waiter.revision <= this.#state.revision) {
        this.#waiters.splice(i, 1)
        waiter.resolve()
      }
    }
  }

  #apply(
    resources: Map<string, StoredResource>,
    endpoints: Map<string, RegisteredEndpoint>,
    type: 'Put' | 'Delete',
    kv: IKeyValue,
  ): void {
    const key = text(kv).slice(this.#prefix.length)
    if (key.startsWith(RESOURCES)) {
      const name = key.slice(RESOURCES.length)
      if (type === 'Delete') resources.delete(name)
      else {
        const resource = JSON.parse(kv.value.toString('utf8')) as Resource
        const resourceVersion = kv.mod_revision
        // Sealed, so that every analysis of the config reuses what it compiled of it.
        resources.set(name, {
          resource: seal({ ...resource, metadata: { ...resource.metadata, resourceVersion } } as Resource),
          resourceVersion,
        })
      }
    } else if (key.startsWith(ENDPOINTS)) {
      const lease = key.slice(ENDPOINTS.length)
      if (type === 'Delete') endpoints.delete(lease)
      else
        endpoints.set(lease, {
          lease,
          endpoint: seal(JSON.parse(kv.value.toString('utf8')) as RegistryEndpoint),
        })
    }
  }

  /** Resolves once this replica's watch has seen `revision`: a caller then reads its own write. */
  #caughtUp(revision: number): Promise<void> {
    if (this.#state.revision >= revision) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ revision, resolve }))
  }
}
