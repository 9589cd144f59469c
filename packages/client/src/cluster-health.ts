import type { ClusterRegistry } from './cluster.js'
import type { OutboundTelemetry } from './request-observer.js'

/** One endpoint of a cluster as this client sees it. */
export interface EndpointHealth {
  /** `address:port`. */
  readonly address: string
  /** In the balancer's healthy set: not ejected by outlier detection. */
  readonly healthy: boolean
  readonly ejected: boolean
  /** When the ejection ends at the earliest (ms since the epoch): the next sweep after it readmits the endpoint. */
  readonly ejectedUntil: number | null
}

/** One of this client's clusters (Envoy's `outbound|port|subset|host`) and the health of its endpoints. */
export interface ClusterHealth {
  readonly cluster: string
  readonly service: string
  readonly subset: string | null
  readonly endpoints: readonly EndpointHealth[]
  /** The subset's circuit breaker (Weft's, from the DestinationRule's annotation); null without one. */
  readonly breaker: 'closed' | 'open' | 'halfOpen' | null
}

// The registries made with each telemetry: the HTTP dispatcher's and the gRPC channels' clusters
// of one mesh share its telemetry, so that one question reaches them all. Weak on both sides:
// tracking keeps neither a dispatcher nor a mesh alive.
const byTelemetry = new WeakMap<OutboundTelemetry, Set<WeakRef<ClusterRegistry>>>()

/** Called by each ClusterRegistry made with a telemetry. */
export function trackClusters(telemetry: OutboundTelemetry, registry: ClusterRegistry): void {
  let registries = byTelemetry.get(telemetry)
  if (!registries) {
    registries = new Set()
    byTelemetry.set(telemetry, registries)
  }
  registries.add(new WeakRef(registry))
}

/**
 * What the clusters of every dispatcher and gRPC channel built with `telemetry` see now: the
 * clusters requests have used, their endpoints' outlier state and their breakers. Read-only,
 * and meant for a report every few seconds, not for the request path.
 */
export function clusterHealth(telemetry: OutboundTelemetry, nowMs: number = Date.now()): ClusterHealth[] {
  const registries = byTelemetry.get(telemetry)
  if (!registries) return []
  const out: ClusterHealth[] = []
  for (const ref of registries) {
    const registry = ref.deref()
    if (registry) out.push(...registry.health(nowMs))
    else registries.delete(ref)
  }
  return out
}
