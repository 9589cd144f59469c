import type { RegistryEndpoint, Resource } from '@weft/config'

/** A resource as stored, with the version optimistic concurrency compares. */
export interface StoredResource {
  readonly resource: Resource
  /** The store revision that last wrote it, as a string (Kubernetes' `resourceVersion`). */
  readonly resourceVersion: string
}

/** An endpoint a workload registered, alive while its lease is kept. */
export interface RegisteredEndpoint {
  readonly lease: string
  readonly endpoint: RegistryEndpoint
}

/** Everything the control plane serves, at one revision. Immutable. */
export interface StoreState {
  /** Increases with every change of resources or endpoints; the version SDKs acknowledge. */
  readonly revision: number
  /** By `resourceKey` (`Kind/namespace/name`). */
  readonly resources: ReadonlyMap<string, StoredResource>
  /** By lease. */
  readonly endpoints: ReadonlyMap<string, RegisteredEndpoint>
}

/** One atomic write: all of it or none. */
export interface Change {
  readonly put: readonly Resource[]
  readonly delete: readonly string[]
  /**
   * Preconditions by key: the `resourceVersion` the writer read, or null for "must not exist".
   * One that no longer holds fails the whole change with ConflictError.
   */
  readonly expect: ReadonlyMap<string, string | null>
}

/**
 * Where the control plane keeps its state. `file` serves one replica from a data directory;
 * `etcd` lets any number of replicas serve one state. Every replica learns every change through
 * `subscribe`, its own writes included.
 */
export interface ConfigStore {
  start(): Promise<void>
  state(): StoreState
  subscribe(listener: (state: StoreState) => void): () => void
  /** Resolves once the change is durable (fsync'd or committed by etcd's quorum). */
  commit(change: Change): Promise<StoreState>
  /** Registers an endpoint under a new lease that lapses after `ttlMs` without `keepAlive`. */
  register(endpoint: RegistryEndpoint, ttlMs: number): Promise<string>
  /** False when the lease is unknown or lapsed: the workload must register again. */
  keepAlive(lease: string): Promise<boolean>
  deregister(lease: string): Promise<void>
  /**
   * A secret every replica shares (the token-signing key, a generated admin token): read, or
   * made with `create` by the first replica that asks.
   */
  secret(name: string, create: () => string): Promise<string>
  close(): Promise<void>
}

export const EMPTY_STATE: StoreState = Object.freeze({
  revision: 0,
  resources: new Map(),
  endpoints: new Map(),
})
