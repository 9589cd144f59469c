import type { RegistryEndpoint, Resource } from '@weft/config'
import type { StoreState } from './store/config-store.js'

/** The key an endpoint goes by on the watch stream: one per (namespace, service, address, port). */
export function endpointKey(e: RegistryEndpoint): string {
  return `${e.namespace}/${e.service}/${e.address}/${e.port}`
}

/** What changed between two versions of the config a watcher holds (docs/api.md, `event: delta`). */
export interface ViewChanges {
  /** Resources created or changed, whole. */
  readonly put: readonly Resource[]
  /** Keys (`Kind/namespace/name`) of resources removed. */
  readonly delete: readonly string[]
  /** Only when any endpoint changed: endpoints added or changed, and keys of those gone. */
  readonly endpoints?: { readonly put: readonly RegistryEndpoint[]; readonly delete: readonly string[] }
  /** Only when it changed. */
  readonly trustBundle?: string
}

/**
 * One revision of the state as watchers see it: the resources, the endpoints (one per key: a
 * workload that moved to another replica registers again while its old lease runs out, and
 * must not count twice meanwhile) and the trust bundle in force when it was recorded.
 */
export class WatchView {
  readonly revision: number
  readonly state: StoreState
  readonly endpoints: ReadonlyMap<string, RegistryEndpoint>
  readonly trustBundle: string

  constructor(state: StoreState, trustBundle: string, previous?: WatchView) {
    this.revision = state.revision
    this.state = state
    this.trustBundle = trustBundle
    // A change of resources keeps the endpoints' map: no need to index them again.
    if (previous && previous.state.endpoints === state.endpoints) this.endpoints = previous.endpoints
    else {
      const endpoints = new Map<string, RegistryEndpoint>()
      for (const { endpoint } of state.endpoints.values()) {
        const key = endpointKey(endpoint)
        if (!endpoints.has(key)) endpoints.set(key, endpoint)
      }
      this.endpoints = endpoints
    }
  }

  resources(): Resource[] {
    return [...this.state.resources.values()].map((r) => r.resource)
  }
}

/** Endpoints compare by content: a store may rebuild equal objects (etcd reads them anew). */
function sameEndpoint(a: RegistryEndpoint, b: RegistryEndpoint): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b)
}

/**
 * The changes that turn `from` into `to`. Resources compare by `resourceVersion`: the store
 * gives a resource a new one with every write, and never reuses one for other content.
 */
export function diffViews(from: WatchView, to: WatchView): ViewChanges {
  const put: Resource[] = []
  const deleted: string[] = []
  const before = from.state.resources
  const after = to.state.resources
  if (before !== after) {
    for (const [key, now] of after) {
      if (before.get(key)?.resourceVersion !== now.resourceVersion) put.push(now.resource)
    }
    for (const key of before.keys()) if (!after.has(key)) deleted.push(key)
  }
  let endpoints: ViewChanges['endpoints']
  if (from.endpoints !== to.endpoints) {
    const changed: RegistryEndpoint[] = []
    const gone: string[] = []
    for (const [key, now] of to.endpoints) {
      const was = from.endpoints.get(key)
      if (!was || !sameEndpoint(was, now)) changed.push(now)
    }
    for (const key of from.endpoints.keys()) if (!to.endpoints.has(key)) gone.push(key)
    if (changed.length > 0 || gone.length > 0) endpoints = { put: changed, delete: gone }
  }
  return {
    put,
    delete: deleted,
    ...(endpoints ? { endpoints } : {}),
    ...(from.trustBundle !== to.trustBundle ? { trustBundle: to.trustBundle } : {}),
  }
}
