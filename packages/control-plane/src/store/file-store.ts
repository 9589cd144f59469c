import { randomUUID } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { type Resource, resourceKey, seal } from '@weft/config'
import { ConflictError, StoreError } from '../errors.js'
import { readOrCreateSecret } from '../secret-file.js'
import {
  type Change,
  type ConfigStore,
  EMPTY_STATE,
  type RegisteredEndpoint,
  type StoredResource,
  type StoreState,
} from './config-store.js'

const STATE_FILE = 'state.json'
const LOCK_FILE = 'lock'
const SWEEP_MS = 250

interface Lease {
  readonly registered: RegisteredEndpoint
  expiresAtMs: number
  readonly ttlMs: number
}

interface PersistedState {
  readonly revision: number
  readonly resources: readonly StoredResource[]
  /** Leased endpoints, so that a restart does not empty the registry (Istio's endpoints outlive istiod too). */
  readonly endpoints?: readonly (RegisteredEndpoint & { readonly ttlMs: number })[]
}

/** Writes `data` to `path` so that a crash leaves either the old file or the new one, never a mix. */
async function writeDurably(dir: string, path: string, data: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`
  const file = await open(temp, 'w', 0o600)
  try {
    await file.writeFile(data)
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(temp, path)
  const directory = await open(dir, 'r')
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The default store: one replica, its state in `dataDir/state.json`, replaced atomically (write,
 * fsync, rename, fsync the directory) before a change is acknowledged, so nothing acknowledged
 * is lost to `kill -9`. A lock file keeps a second control plane off the same directory.
 * Registered endpoints are kept too: after a restart each lease runs a full lifetime again, so
 * that instances do not see their upstreams vanish while the workloads renew. Heartbeats only
 * touch memory.
 */
export class FileStore implements ConfigStore {
  readonly #dir: string
  #state: StoreState = EMPTY_STATE
  readonly #listeners = new Set<(state: StoreState) => void>()
  readonly #leases = new Map<string, Lease>()
  /** Writes run one at a time, in order. */
  #queue: Promise<unknown> = Promise.resolve()
  #sweep: NodeJS.Timeout | undefined
  #locked = false

  constructor(dataDir: string) {
    this.#dir = dataDir
  }

  async start(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    await this.#lock()
    let persisted: PersistedState | undefined
    try {
      persisted = JSON.parse(await readFile(join(this.#dir, STATE_FILE), 'utf8')) as PersistedState
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StoreError(`cannot read ${join(this.#dir, STATE_FILE)}: ${(error as Error).message}`, {
          cause: error,
        })
      }
    }
    if (persisted) {
      // Each restored lease gets a full lifetime from now: its workload has that long to renew it.
      const now = Date.now()
      for (const { lease, endpoint, ttlMs } of persisted.endpoints ?? []) {
        const registered = { lease, endpoint: seal(endpoint) }
        this.#leases.set(lease, { registered, ttlMs, expiresAtMs: now + ttlMs })
      }
      this.#state = {
        revision: persisted.revision,
        resources: new Map(persisted.resources.map((r) => [resourceKey(seal(r.resource)), r])),
        endpoints: new Map([...this.#leases].map(([lease, l]) => [lease, l.registered])),
      }
    }
    this.#sweep = setInterval(() => this.#expire(), SWEEP_MS)
    this.#sweep.unref()
  }

  state(): StoreState {
    return this.#state
  }

  subscribe(listener: (state: StoreState) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  commit(change: Change): Promise<StoreState> {
    return this.#serial(async () => {
      const current = this.#state
      for (const [key, expected] of change.expect) {
        const found = current.resources.get(key)
        if (expected === null ? found !== undefined : found?.resourceVersion !== expected) {
          throw new ConflictError(
            `${key} changed since resourceVersion ${expected ?? '(absent)'}: it is at ${found?.resourceVersion ?? '(deleted)'}; read it again and reapply`,
          )
        }
      }
      const revision = current.revision + 1
      const resources = new Map(current.resources)
      for (const key of change.delete) resources.delete(key)
      for (const resource of change.put) {
        resources.set(resourceKey(resource), {
          resource: withVersion(resource, revision),
          resourceVersion: String(revision),
        })
      }
      return this.#persist({ revision, resources, endpoints: current.endpoints })
    })
  }

  register(endpoint: RegisteredEndpoint['endpoint'], ttlMs: number): Promise<string> {
    return this.#serial(async () => {
      const lease = randomUUID()
      const registered = { lease, endpoint: seal(endpoint) }
      this.#leases.set(lease, { registered, ttlMs, expiresAtMs: Date.now() + ttlMs })
      const endpoints = new Map(this.#state.endpoints).set(lease, registered)
      await this.#persist({ ...this.#state, revision: this.#state.revision + 1, endpoints })
      return lease
    })
  }

  async keepAlive(lease: string): Promise<boolean> {
    const held = this.#leases.get(lease)
    if (!held) return false
    held.expiresAtMs = Date.now() + held.ttlMs
    return true
  }

  deregister(lease: string): Promise<void> {
    return this.#serial(async () => {
      if (!this.#leases.delete(lease)) return
      await this.#dropEndpoints([lease])
    })
  }

  secret(name: string, create: () => string): Promise<string> {
    return readOrCreateSecret(join(this.#dir, name), create)
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep)
    await this.#queue.catch(() => {})
    if (this.#locked) await rm(join(this.#dir, LOCK_FILE), { force: true })
    this.#locked = false
  }

  #expire(): void {
    const now = Date.now()
    const lapsed = [...this.#leases].filter(([, l]) => l.expiresAtMs <= now).map(([lease]) => lease)
    if (lapsed.length === 0) return
    for (const lease of lapsed) this.#leases.delete(lease)
    void this.#serial(() => this.#dropEndpoints(lapsed)).catch(() => {})
  }

  async #dropEndpoints(leases: readonly string[]): Promise<void> {
    const endpoints = new Map(this.#state.endpoints)
    for (const lease of leases) endpoints.delete(lease)
    await this.#persist({ ...this.#state, revision: this.#state.revision + 1, endpoints })
  }

  /** Makes `next` durable, then current, then tells every subscriber. */
  async #persist(next: StoreState): Promise<StoreState> {
    const persisted: PersistedState = {
      revision: next.revision,
      resources: [...next.resources.values()],
      endpoints: [...next.endpoints.values()].map((e) => ({
        ...e,
        ttlMs: this.#leases.get(e.lease)?.ttlMs ?? 0,
      })),
    }
    try {
      await writeDurably(this.#dir, join(this.#dir, STATE_FILE), JSON.stringify(persisted))
    } catch (error) {
      throw new StoreError(`cannot write ${join(this.#dir, STATE_FILE)}: ${(error as Error).message}`, {
        cause: error,
      })
    }
    this.#state = next
    for (const listener of this.#listeners) listener(next)
    return next
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work)
    this.#queue = run.catch(() => {})
    return run
  }

  async #lock(): Promise<void> {
    const path = join(this.#dir, LOCK_FILE)
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const file = await open(path, 'wx', 0o600)
        await file.writeFile(String(process.pid))
        await file.close()
        this.#locked = true
        return
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const pid = Number(await readFile(path, 'utf8').catch(() => ''))
        if (pid && alive(pid)) {
          throw new StoreError(
            `another control plane (pid ${pid}) uses ${this.#dir}; stop it, or give this one its own --data-dir (or use --store etcd for replicas)`,
          )
        }
        // The holder is gone (killed): its lock is stale.
        await rm(path, { force: true })
      }
    }
    throw new StoreError(`cannot lock ${path}`)
  }
}

/** The stored copy: sealed, so that every analysis of the config reuses what it compiled of it. */
function withVersion(resource: Resource, revision: number): Resource {
  return seal({
    ...resource,
    metadata: { ...resource.metadata, resourceVersion: String(revision) },
  } as Resource)
}
