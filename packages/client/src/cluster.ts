import {
  type CircuitBreakerSettings,
  type Endpoint,
  type Snapshot,
  selects,
  type TrafficPolicy,
} from '@weft/config'
import {
  ConnectionPool,
  createLoadBalancer,
  createRetryBudget,
  durationMs,
  endpointKey,
  type LoadBalancer,
  type OutlierDetectionOptions,
  OutlierDetector,
  poolLimits,
  type RetryBudget,
  type RouteTarget,
} from '@weft/core'
import type CircuitBreaker from 'opossum'
import { createCircuitBreaker } from './circuit-breaker.js'

/**
 * Envoy's cluster, for one (host, subset, port): the endpoints that serve it, the balancer
 * over them, outlier detection and circuit-breaker counters. It outlives snapshots: a new
 * snapshot rebuilds the balancer, while outlier state for endpoints that stay is kept.
 */
export class Cluster {
  readonly name: string
  /** True when the host has no endpoints in the mesh: dial it as addressed (ALLOW_ANY). */
  passthrough = false
  endpoints: readonly Endpoint[] = []
  balancer: LoadBalancer<Endpoint> | undefined
  outlier: OutlierDetector | undefined
  pool: ConnectionPool
  /** Weft's circuit breaker for the whole subset, when the DestinationRule's annotation asks for one. */
  breaker: CircuitBreaker<[() => Promise<void>], void> | undefined
  /** Envoy's retry budget, from the DestinationRule's `retryBudget` (defaults 20 %, 3). */
  budget: RetryBudget = createRetryBudget()
  /** The DestinationRule's consistent-hash policy, if its balancer hashes requests. */
  get consistentHash(): NonNullable<TrafficPolicy['loadBalancer']>['consistentHash'] {
    return this.#policy.loadBalancer?.consistentHash
  }
  /** Requests in flight per endpoint index, for LEAST_REQUEST. */
  active: Uint32Array = new Uint32Array(0)
  #version = ''
  #policy: TrafficPolicy = {}
  #keys: readonly string[] = []
  #breakerSettings: CircuitBreakerSettings | undefined
  #random: () => number = Math.random
  #degraded: { healthy: readonly Endpoint[]; balancer: LoadBalancer<Endpoint> } | undefined

  constructor(name: string) {
    this.name = name
    this.pool = new ConnectionPool(poolLimits(undefined))
  }

  /** Brings the cluster up to `snapshot`; cheap when the snapshot has not changed. */
  update(
    snapshot: Snapshot,
    target: RouteTarget,
    callerNamespace: string,
    random: () => number,
    nowMs: number,
  ): void {
    if (this.#version === snapshot.version) return
    this.#version = snapshot.version
    const service = snapshot.service(target.host)
    const dr = snapshot.destinationRuleFor(target.host, callerNamespace)
    const policy: TrafficPolicy = dr?.policy(target.subset, target.port) ?? {}
    const subsetLabels = target.subset === undefined ? undefined : dr?.subsets.get(target.subset)?.labels
    const all = service?.endpoints ?? []
    // An unknown subset has no endpoints: Envoy answers such a cluster with "no healthy upstream".
    this.endpoints =
      target.subset !== undefined && subsetLabels === undefined
        ? []
        : all.filter((e) => selects(subsetLabels, e.labels))
    this.passthrough = all.length === 0 && (service === undefined || service.location === 'MESH_EXTERNAL')
    this.#random = random
    this.#policy = policy
    this.#degraded = undefined
    this.balancer = createLoadBalancer(policy.loadBalancer, this.endpoints, random)
    this.active = new Uint32Array(this.endpoints.length)
    this.pool = new ConnectionPool(poolLimits(policy.connectionPool))
    const rb = policy.retryBudget
    this.budget = createRetryBudget({
      ...(rb?.percent != null ? { budgetPercent: rb.percent } : {}),
      ...(rb?.minRetryConcurrency !== undefined ? { minRetryConcurrency: rb.minRetryConcurrency } : {}),
    })
    const settings = dr?.circuitBreaker
    if (!settings) {
      this.breaker?.shutdown()
      this.breaker = undefined
    } else if (!this.breaker || JSON.stringify(this.#breakerSettings) !== JSON.stringify(settings)) {
      this.breaker?.shutdown()
      this.breaker = createCircuitBreaker(settings, this.name)
    }
    this.#breakerSettings = settings
    const od = policy.outlierDetection
    const keys = this.endpoints.map(endpointKey)
    this.#keys = keys
    if (!od) this.outlier = undefined
    else if (this.outlier) this.outlier.setEndpoints(keys, nowMs)
    else this.outlier = new OutlierDetector(outlierOptions(od), keys, nowMs)
  }

  /** `address:port` of the endpoint at `index`, as outlier detection knows it. */
  keyOf(index: number): string {
    return this.#keys[index] as string
  }

  /**
   * The endpoint for one request: the balancer over the healthy endpoints (outlier detection
   * and panic decide which), or undefined when none is healthy. While some are ejected the
   * balancer runs over the rest, rebuilt only when the healthy set changes.
   */
  pick(hash: number | undefined, nowMs: number): Endpoint | undefined {
    const healthy = this.outlier ? this.outlier.healthy(this.endpoints, nowMs).endpoints : this.endpoints
    if (healthy.length === 0) return undefined
    let balancer = this.balancer
    if (healthy !== this.endpoints) {
      if (this.#degraded?.healthy !== healthy) {
        this.#degraded = {
          healthy,
          balancer: createLoadBalancer(this.#policy.loadBalancer, healthy, this.#random),
        }
      }
      balancer = this.#degraded.balancer
    }
    const active = healthy === this.endpoints ? this.active : undefined
    return balancer?.pick({ random: this.#random, hash, ...(active ? { activeRequests: active } : {}) })
  }
}

function outlierOptions(od: NonNullable<TrafficPolicy['outlierDetection']>): OutlierDetectionOptions {
  const interval = durationMs(od.interval)
  const base = durationMs(od.baseEjectionTime)
  return {
    ...(od.consecutive5xxErrors != null ? { consecutive5xxErrors: od.consecutive5xxErrors } : {}),
    ...(od.consecutiveGatewayErrors != null ? { consecutiveGatewayErrors: od.consecutiveGatewayErrors } : {}),
    ...(od.consecutiveLocalOriginFailures != null
      ? { consecutiveLocalOriginFailures: od.consecutiveLocalOriginFailures }
      : {}),
    ...(od.splitExternalLocalOriginErrors !== undefined
      ? { splitExternalLocalOriginErrors: od.splitExternalLocalOriginErrors }
      : {}),
    ...(interval !== undefined ? { intervalMs: interval } : {}),
    ...(base !== undefined ? { baseEjectionTimeMs: base } : {}),
    ...(od.maxEjectionPercent !== undefined ? { maxEjectionPercent: od.maxEjectionPercent } : {}),
    ...(od.minHealthPercent !== undefined ? { minHealthPercent: od.minHealthPercent } : {}),
  }
}

/** Clusters by (host, subset, port), kept across snapshots. */
export class ClusterRegistry {
  // Nested maps, so that finding a request's cluster builds no string.
  readonly #clusters = new Map<string, Map<string, Map<number, Cluster>>>()

  get(
    snapshot: Snapshot,
    target: RouteTarget,
    callerNamespace: string,
    random: () => number,
    nowMs: number,
  ): Cluster {
    let bySubset = this.#clusters.get(target.host)
    if (!bySubset) {
      bySubset = new Map()
      this.#clusters.set(target.host, bySubset)
    }
    const subset = target.subset ?? ''
    let byPort = bySubset.get(subset)
    if (!byPort) {
      byPort = new Map()
      bySubset.set(subset, byPort)
    }
    let cluster = byPort.get(target.port)
    if (!cluster) {
      cluster = new Cluster(`outbound|${target.port}|${subset}|${target.host}`)
      byPort.set(target.port, cluster)
    }
    cluster.update(snapshot, target, callerNamespace, random, nowMs)
    return cluster
  }

  /** What `weft dump` shows: each cluster's endpoints and outlier state. */
  toJSON(): object {
    const all = [...this.#clusters.values()].flatMap((bySubset) =>
      [...bySubset.values()].flatMap((byPort) => [...byPort.values()]),
    )
    return Object.fromEntries(
      all.map((c) => [
        c.name,
        { endpoints: c.endpoints.length, outlier: c.outlier?.toJSON(), pool: c.pool.toJSON() },
      ]),
    )
  }
}
