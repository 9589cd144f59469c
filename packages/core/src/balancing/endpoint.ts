/**
 * One upstream endpoint as the balancers see it. Adapters may pass richer objects; balancers
 * return the very object they were given.
 */
export interface Endpoint {
  readonly address: string
  readonly port: number
  /** Relative load-balancing weight; unset or 0 counts as 1, as Istio sends endpoints to Envoy. */
  readonly weight?: number
  /** `region/zone/sub-zone`. */
  readonly locality?: string
  readonly labels?: Readonly<Record<string, string>>
}

/** `address:port`, with IPv6 addresses bracketed: the identity outlier detection and hashing use. */
export function endpointKey(endpoint: Pick<Endpoint, 'address' | 'port'>): string {
  return endpoint.address.includes(':')
    ? `[${endpoint.address}]:${endpoint.port}`
    : `${endpoint.address}:${endpoint.port}`
}

/** The weight a balancer uses: Envoy requires weights >= 1, and Istio sends 1 for an unset 0. */
export function endpointWeight(endpoint: Pick<Endpoint, 'weight'>): number {
  const w = endpoint.weight
  return w !== undefined && Number.isFinite(w) && w > 0 ? w : 1
}

/** True when every endpoint has the same weight, where Envoy's balancers take their O(1) paths. */
export function hasEqualWeights(endpoints: readonly Pick<Endpoint, 'weight'>[]): boolean {
  if (endpoints.length === 0) return true
  const first = endpointWeight(endpoints[0] as Endpoint)
  for (let i = 1; i < endpoints.length; i++) {
    if (endpointWeight(endpoints[i] as Endpoint) !== first) return false
  }
  return true
}

/**
 * Endpoints sorted by key, with their keys. Consistent hashing lays endpoints out in this order
 * so that clients listing the same endpoints in different orders agree on every key.
 */
export function orderByKey<E extends Endpoint>(endpoints: readonly E[]): { endpoints: E[]; keys: string[] } {
  const keyed = endpoints.map((endpoint) => ({ endpoint, key: endpointKey(endpoint) }))
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return { endpoints: keyed.map((k) => k.endpoint), keys: keyed.map((k) => k.key) }
}
