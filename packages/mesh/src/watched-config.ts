import { type RegistryEndpoint, type Resource, seal } from '@weft/config'

/** `event: snapshot` on the watch stream (docs/api.md): the whole config at one version. */
export interface SnapshotPayload {
  /** The control plane store whose history `version` counts in. */
  readonly store?: string
  readonly version: number
  readonly resources: readonly Resource[]
  readonly endpoints: readonly RegistryEndpoint[]
  /** The mesh's roots (PEM), from the control plane's CA. */
  readonly trustBundle?: string
}

/** `event: delta`: what changed since version `from`; applies only to a client holding `from`. */
export interface DeltaPayload {
  readonly store: string
  readonly version: number
  readonly from: number
  readonly put: readonly Resource[]
  /** Keys (`Kind/namespace/name`) of resources removed. */
  readonly delete: readonly string[]
  /** Present only when endpoints changed; `delete` holds `namespace/service/address/port` keys. */
  readonly endpoints?: { readonly put: readonly RegistryEndpoint[]; readonly delete: readonly string[] }
  /** Present only when it changed. */
  readonly trustBundle?: string
}

const resourceKey = (r: Resource) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`
const endpointKey = (e: RegistryEndpoint) => `${e.namespace}/${e.service}/${e.address}/${e.port}`

/**
 * The control plane's config as this client last received it, whether or not it was applied:
 * deltas describe the control plane's history, so a refused version is still the base the
 * next delta builds on. Built from a snapshot, advanced by deltas; a delta that does not start
 * from the version held is refused (`undefined`), and the client must fetch the whole config.
 */
export class WatchedConfig {
  #store: string | undefined
  #version: number | undefined
  #resources = new Map<string, Resource>()
  #endpoints = new Map<string, RegistryEndpoint>()
  #trustBundle: string | undefined

  /** `STORE.VERSION` for `Last-Event-ID`, when a version from a known store is held. */
  get lastEventId(): string | undefined {
    return this.#store !== undefined && this.#version !== undefined
      ? `${this.#store}.${this.#version}`
      : undefined
  }

  get version(): number | undefined {
    return this.#version
  }

  /** Takes a whole config (from the stream or the disk cache); returns it as given. */
  snapshot(payload: SnapshotPayload): SnapshotPayload {
    this.#store = payload.store
    this.#version = payload.version
    // Later entries win, as in the map a delta updates; validation sees the list as sent.
    // Resources and endpoints are sealed: parsed here and never changed, so validating and
    // compiling reuse what they made of each (see `seal`).
    this.#resources = new Map(payload.resources.map((r) => [resourceKey(r), seal(r)]))
    this.#endpoints = new Map(payload.endpoints.map((e) => [endpointKey(e), seal(e)]))
    this.#trustBundle = payload.trustBundle
    return payload
  }

  /** The whole config after `delta`, or undefined (nothing changed here) if it does not apply. */
  delta(delta: DeltaPayload): SnapshotPayload | undefined {
    if (delta.store !== this.#store || delta.from !== this.#version) return undefined
    if (delta.put.length > 0 || delta.delete.length > 0) {
      const resources = new Map(this.#resources)
      for (let i = 0; i < delta.delete.length; i++) resources.delete(delta.delete[i] as string)
      for (let i = 0; i < delta.put.length; i++) {
        const r = delta.put[i] as Resource
        resources.set(resourceKey(r), seal(r))
      }
      this.#resources = resources
    }
    if (delta.endpoints) {
      const endpoints = new Map(this.#endpoints)
      const { put, delete: removed } = delta.endpoints
      for (let i = 0; i < removed.length; i++) endpoints.delete(removed[i] as string)
      for (let i = 0; i < put.length; i++) {
        const e = put[i] as RegistryEndpoint
        endpoints.set(endpointKey(e), seal(e))
      }
      this.#endpoints = endpoints
    }
    if (delta.trustBundle !== undefined) this.#trustBundle = delta.trustBundle
    this.#version = delta.version
    return this.current()
  }

  /** Forgets what it holds: the next watch asks for the whole config. */
  reset(): void {
    this.#store = undefined
    this.#version = undefined
    this.#resources = new Map()
    this.#endpoints = new Map()
    this.#trustBundle = undefined
  }

  /** The whole config held, as a snapshot payload (for `apply` and the disk cache). */
  current(): SnapshotPayload {
    // One shape whatever is held (absent fields undefined, which JSON leaves out), and no spreads:
    // it is made on every change, by every SDK instance.
    return {
      store: this.#store,
      version: this.#version ?? 0,
      resources: Array.from(this.#resources.values()),
      endpoints: Array.from(this.#endpoints.values()),
      trustBundle: this.#trustBundle,
    }
  }
}
