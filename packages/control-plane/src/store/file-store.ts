import { randomUUID } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { type Resource, resourceKey, seal } from '@weft/config'
import { ConflictError, StoreError } from '../errors.js'
import { readOrCreateSecret } from '../secret-file.js'
import { ChangeLog, syncDirectory } from './change-log.js'
import {
  type Change,
  type ConfigStore,
  EMPTY_STATE,
  type RegisteredEndpoint,
  type StoredResource,
  type StoreState,
} from './config-store.js'

const STATE_FILE = 'state.json'
const LOG_FILE = 'changes.log'
const LOCK_FILE = 'lock'
const SWEEP_MS = 250
// The log is folded into state.json once it outweighs the state last written there (and at
// least this much): a change costs one append, and the whole state's rewrite is shared by many.
const COMPACT_MIN_BYTES = 1 << 20

interface Lease {
  readonly registered: RegisteredEndpoint
  expiresAtMs: number
  readonly ttlMs: number
}

/** A leased endpoint as written down: a restart gives it `ttlMs` again. */
interface PersistedEndpoint extends RegisteredEndpoint {
  readonly ttlMs: number
}

interface PersistedState {
  readonly revision: number
  readonly resources: readonly StoredResource[]
  /** Leased endpoints, so that a restart does not empty the registry (Istio's endpoints outlive istiod too). */
  readonly endpoints?: readonly PersistedEndpoint[]
}

/** One change in the log: what a commit, a registration or lapsed leases did at `revision`. */
interface LogRecord {
  readonly revision: number
  readonly put?: readonly StoredResource[]
  /** Resource keys. */
  readonly delete?: readonly string[]
  readonly register?: readonly PersistedEndpoint[]
  /** Leases. */
  readonly deregister?: readonly string[]
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
  await syncDirectory(dir)
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
 * The default store: one replica, in a data directory. Each change is appended to
 * `dataDir/changes.log` and fdatasync'd before it is acknowledged, so nothing acknowledged is
 * lost to `kill -9`; once the log outweighs the state, the whole state is written to
 * `dataDir/state.json` (a temporary file, fsync, rename, fsync the directory) and the log
 * emptied. A start reads the state and replays the log after it. A lock file keeps a second
 * control plane off the same directory. Registered endpoints are kept too: after a restart each
 * lease runs a full lifetime again, so that instances do not see their upstreams vanish while
 * the workloads renew. Heartbeats only touch memory.
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
  #log: ChangeLog<LogRecord> | undefined
  /** Log bytes at which the state is written out and the log emptied. */
  #compactAt = COMPACT_MIN_BYTES

  constructor(dataDir: string) {
    this.#dir = dataDir
  }

  async start(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    await this.#lock()
    try {
      await this.#restore()
    } catch (error) {
      // A data directory this store cannot read is not held: the lock goes with it.
      await this.close()
      throw error
    }
    this.#sweep = setInterval(() => this.#expire(), SWEEP_MS)
    this.#sweep.unref()
  }

  /** The state as state.json and the log after it leave it. */
  async #restore(): Promise<void> {
    const statePath = join(this.#dir, STATE_FILE)
    let persisted: PersistedState | undefined
    try {
      const text = await readFile(statePath, 'utf8')
      persisted = JSON.parse(text) as PersistedState
      this.#compactAt = Math.max(COMPACT_MIN_BYTES, Buffer.byteLength(text))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StoreError(`cannot read ${statePath}: ${(error as Error).message}`, { cause: error })
      }
    }
    let revision = persisted?.revision ?? 0
    const resources = new Map((persisted?.resources ?? []).map((r) => [resourceKey(r.resource), r]))
    const endpoints = new Map((persisted?.endpoints ?? []).map((e) => [e.lease, e]))
    const logPath = join(this.#dir, LOG_FILE)
    const { log, records } = await ChangeLog.open<LogRecord>(logPath)
    this.#log = log
    revision = replay(records, revision, resources, endpoints, logPath)
    // Each restored lease gets a full lifetime from now: its workload has that long to renew it.
    const now = Date.now()
    for (const { lease, endpoint, ttlMs } of endpoints.values()) {
      const registered = { lease, endpoint: seal(endpoint) }
      this.#leases.set(lease, { registered, ttlMs, expiresAtMs: now + ttlMs })
    }
    for (const stored of resources.values()) seal(stored.resource)
    this.#state = {
      revision,
      resources,
      endpoints: new Map([...this.#leases].map(([lease, l]) => [lease, l.registered])),
    }
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
      const put = change.put.map((resource) => ({
        resource: withVersion(resource, revision),
        resourceVersion: String(revision),
      }))
      const resources = new Map(current.resources)
      for (const key of change.delete) resources.delete(key)
      for (const stored of put) resources.set(resourceKey(stored.resource), stored)
      return this.#persist(
        { revision, resources, endpoints: current.endpoints },
        { revision, put, delete: change.delete },
      )
    })
  }

  register(endpoint: RegisteredEndpoint['endpoint'], ttlMs: number): Promise<string> {
    return this.#serial(async () => {
      const lease = randomUUID()
      const registered = { lease, endpoint: seal(endpoint) }
      this.#leases.set(lease, { registered, ttlMs, expiresAtMs: Date.now() + ttlMs })
      const endpoints = new Map(this.#state.endpoints).set(lease, registered)
      const revision = this.#state.revision + 1
      await this.#persist(
        { ...this.#state, revision, endpoints },
        { revision, register: [{ ...registered, ttlMs }] },
      )
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
    await this.#log?.close()
    this.#log = undefined
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
    const revision = this.#state.revision + 1
    await this.#persist({ ...this.#state, revision, endpoints }, { revision, deregister: leases })
  }

  /** Makes `next` durable (its `record` in the log), then current, then tells every subscriber. */
  async #persist(next: StoreState, record: LogRecord): Promise<StoreState> {
    const log = this.#log
    if (!log) throw new StoreError('the file store is not started (or closed)')
    await log.append(record)
    this.#state = next
    for (const listener of this.#listeners) listener(next)
    // Before the next write, not before this one is answered.
    if (log.size >= this.#compactAt) void this.#serial(() => this.#compact(log))
    return next
  }

  /** Writes the whole state to state.json and empties the log, whose records it now holds. */
  async #compact(log: ChangeLog<LogRecord>): Promise<void> {
    if (log !== this.#log || log.size < this.#compactAt) return
    const state = this.#state
    const persisted: PersistedState = {
      revision: state.revision,
      resources: [...state.resources.values()],
      endpoints: [...state.endpoints.values()].map((e) => ({
        ...e,
        ttlMs: this.#leases.get(e.lease)?.ttlMs ?? 0,
      })),
    }
    const text = JSON.stringify(persisted)
    try {
      await writeDurably(this.#dir, join(this.#dir, STATE_FILE), text)
      await log.clear()
      this.#compactAt = Math.max(COMPACT_MIN_BYTES, Buffer.byteLength(text))
    } catch {
      // Nothing is lost: the log still holds every change. Try again once it has doubled.
      this.#compactAt = log.size * 2
    }
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

/** Applies the log's records after `revision` to the maps; answers the revision reached. */
function replay(
  records: readonly LogRecord[],
  from: number,
  resources: Map<string, StoredResource>,
  endpoints: Map<string, PersistedEndpoint>,
  logPath: string,
): number {
  let revision = from
  for (const record of records) {
    // Written out to state.json already (a crash came between that and emptying the log).
    if (record.revision <= revision) continue
    if (record.revision !== revision + 1) {
      throw new StoreError(
        `${logPath} goes from revision ${revision} to ${record.revision}: changes are missing; restore the data directory from a backup`,
      )
    }
    revision = record.revision
    for (const key of record.delete ?? []) resources.delete(key)
    for (const stored of record.put ?? []) resources.set(resourceKey(stored.resource), stored)
    for (const lease of record.deregister ?? []) endpoints.delete(lease)
    for (const e of record.register ?? []) endpoints.set(e.lease, e)
  }
  return revision
}
