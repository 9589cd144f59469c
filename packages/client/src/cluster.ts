import {
  type CircuitBreakerSettings,
  type Endpoint,
  type Snapshot,
  selects,
  splitServiceHost,
  type TrafficPolicy,
} from '@weft/config'
import {
  ConnectionPool,
  createLoadBalancer,
  createRetryBudget,
  distributeWeights,
  durationMs,
  endpointKey,
  endpointWeight,
  type LoadBalancer,
  localityPriority,
  type OutlierDetectionOptions,
  OutlierDetector,
  pickPriority,
  poolLimits,
  priorityLoads,
  type RetryBudget,
  type RouteSource,
  type RouteTarget,
  type SlowStart,
  slowStartFactor,
  slowStartOf,
} from '@weft/core'
import type CircuitBreaker from 'opossum'
import { createCircuitBreaker } from './circuit-breaker.js'
import { type ClusterHealth, trackClusters } from './cluster-health.js'
import { type OutboundTelemetry, observe } from './request-observer.js'
import type { UpstreamOptions } from './upstream-options.js'

/** A balancer's view of `Cluster.endpoints[index]`, weighted by locality and slow start. */
interface Entry extends Endpoint {
  readonly index: number
}

/** Locality failover: the endpoints healthy now, by priority, with Envoy's load per priority. */
interface PriorityView {
  readonly healthy: readonly Entry[]
  readonly loads: readonly number[]
  readonly balancers: readonly (LoadBalancer<Entry> | undefined)[]
}

// While endpoints warm up, their weights are recomputed at most this often.
const WARMUP_STEP_MS = 100

/**
 * Envoy's cluster, for one (host, subset, port): the endpoints that serve it, the balancer
 * over them, outlier detection and circuit-breaker counters. It outlives snapshots: a new
 * snapshot rebuilds the balancer, while outlier state for endpoints that stay is kept.
 *
 * Weights follow Istio: an endpoint's own weight, or the share `localityLbSetting.distribute`
 * gives its locality; scaled down for endpoints in their slow-start window. With a caller
 * locality and outlier detection, endpoints fall into priorities by locality (same zone first,
 * then region, then `failover` regions) and traffic spills to the next priority only as the
 * nearer ones lose healthy endpoints, as Envoy's priority load does.
 */
export class Cluster {
  readonly name: string
  /** True when the host has no endpoints in the mesh: dial it as addressed (ALLOW_ANY). */
  passthrough = false
  endpoints: readonly Endpoint[] = []
  balancer: LoadBalancer<Entry> | undefined
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
  readonly #upstreams: UpstreamOptions | undefined
  readonly #telemetry: OutboundTelemetry | undefined
  #version = ''
  #policy: TrafficPolicy = {}
  #keys: readonly string[] = []
  #mutual: readonly boolean[] = []
  #indexOf = new Map<Endpoint, number>()
  #breakerSettings: CircuitBreakerSettings | undefined
  #random: () => number = Math.random
  /** Each endpoint's weight before slow start: its own, or its locality's `distribute` share. */
  #weights: readonly number[] = []
  #entries: readonly Entry[] = []
  #degraded: { healthy: readonly Entry[]; balancer: LoadBalancer<Entry> } | undefined
  /** Priority of each endpoint by locality; undefined when locality failover is off. */
  #priorities: readonly number[] | undefined
  #priorityView: PriorityView | undefined
  #slowStart: SlowStart | undefined
  /** When each endpoint (by key) joined; endpoints there from the start never warm up. */
  readonly #joinedAt = new Map<string, number>()
  #warmUntilMs = 0
  #weighedAtMs = 0

  constructor(name: string, upstreams?: UpstreamOptions, telemetry?: OutboundTelemetry) {
    this.name = name
    this.#upstreams = upstreams
    this.#telemetry = telemetry
    this.pool = new ConnectionPool(poolLimits(undefined))
  }

  /** Brings the cluster up to `snapshot`; cheap when the snapshot has not changed. */
  update(
    snapshot: Snapshot,
    target: RouteTarget,
    source: RouteSource,
    random: () => number,
    nowMs: number,
  ): void {
    if (this.#version === snapshot.version) return
    const first = this.#version === ''
    this.#version = snapshot.version
    const service = snapshot.service(target.host)
    const dr = snapshot.destinationRuleFor(target.host, source.namespace)
    const policy: TrafficPolicy = dr?.policy(target.subset, target.port) ?? {}
    const subsetLabels = target.subset === undefined ? undefined : dr?.subsets.get(target.subset)?.labels
    const all = service?.endpoints ?? []
    // An unknown subset has no endpoints: Envoy answers such a cluster with "no healthy upstream".
    const endpoints =
      target.subset !== undefined && subsetLabels === undefined
        ? []
        : all.filter((e) => selects(subsetLabels, e.labels))
    this.endpoints = endpoints
    this.#indexOf = new Map(endpoints.map((e, i) => [e, i]))
    this.passthrough = all.length === 0 && (service === undefined || service.location === 'MESH_EXTERNAL')
    this.#random = random
    this.#policy = policy
    this.active = new Uint32Array(endpoints.length)
    this.pool = new ConnectionPool(poolLimits(policy.connectionPool))
    const keys = endpoints.map(endpointKey)
    this.#keys = keys
    for (const key of keys) this.#upstreams?.set(key, this.pool.limits)
    // Istio's auto mTLS: mutual TLS to endpoints that accept it, unless the DestinationRule says
    // otherwise; ISTIO_MUTUAL asks for it whatever the endpoint declared.
    const tlsMode = policy.tls?.mode
    const canMutual = this.#upstreams?.canMutualTls === true
    const namespace = splitServiceHost(target.host, snapshot.domainSuffix)?.namespace
    this.#mutual = endpoints.map(
      (e) => canMutual && (tlsMode === 'ISTIO_MUTUAL' || (tlsMode === undefined && e.mtls)),
    )
    endpoints.forEach((e, i) => {
      if (this.#mutual[i]) {
        this.#upstreams?.setMutualTls(keys[i] as string, {
          ...(namespace ? { namespace } : {}),
          ...(e.serviceAccount ? { serviceAccount: e.serviceAccount } : {}),
        })
      }
    })
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
      this.#watchBreaker(this.breaker)
    }
    this.#breakerSettings = settings
    const od = policy.outlierDetection
    if (!od) this.outlier = undefined
    else if (this.outlier) this.outlier.setEndpoints(keys, nowMs)
    else this.outlier = new OutlierDetector(outlierOptions(od), keys, nowMs)

    const lb = policy.loadBalancer
    const setting = lb?.localityLbSetting
    const byLocality = source.locality !== undefined && setting?.enabled !== false
    const distribute = byLocality ? distributeWeights(endpoints, source, setting) : undefined
    this.#weights = distribute
      ? distribute.map((share) => Math.round(share * 100))
      : endpoints.map((e) => endpointWeight(e))
    // Istio turns locality failover on only with outlier detection, and never beside `distribute`.
    this.#priorities =
      byLocality && !distribute && od ? endpoints.map((e) => localityPriority(e, source, setting)) : undefined
    // Envoy warms endpoints up only under ROUND_ROBIN and LEAST_REQUEST.
    this.#slowStart = lb?.consistentHash || lb?.simple === 'RANDOM' ? undefined : slowStartOf(lb)
    const present = new Set(keys)
    for (const key of this.#joinedAt.keys()) if (!present.has(key)) this.#joinedAt.delete(key)
    for (const key of keys) if (!this.#joinedAt.has(key)) this.#joinedAt.set(key, first ? -Infinity : nowMs)
    this.#weigh(nowMs)
  }

  /** Outlier detection ejected the endpoint `address:port`: telemetry counts it. */
  ejected(endpoint: string): void {
    const telemetry = this.#telemetry
    if (telemetry) observe(() => telemetry.endpointEjected(this.name, endpoint))
  }

  #watchBreaker(breaker: CircuitBreaker<[() => Promise<void>], void>): void {
    const telemetry = this.#telemetry
    if (!telemetry) return
    const report = (state: 'closed' | 'open' | 'half-open') => () =>
      observe(() => telemetry.breakerStateChanged(this.name, state))
    breaker.on('open', report('open'))
    breaker.on('halfOpen', report('half-open'))
    breaker.on('close', report('closed'))
    report('closed')()
  }

  /** Rebuilds the balancer over the endpoints with their weights at `nowMs`. */
  #weigh(nowMs: number): void {
    const slowStart = this.#slowStart
    let warmUntil = 0
    const entries: Entry[] = []
    this.endpoints.forEach((e, index) => {
      let weight = this.#weights[index] as number
      if (slowStart) {
        const joined = this.#joinedAt.get(this.#keys[index] as string) ?? -Infinity
        const age = nowMs - joined
        if (age < slowStart.windowMs) {
          warmUntil = Math.max(warmUntil, joined + slowStart.windowMs)
          weight = Math.max(1, Math.round(weight * 100 * slowStartFactor(slowStart, age)))
        } else weight *= 100
      }
      if (weight > 0) entries.push({ ...e, weight, index })
    })
    this.#entries = entries
    this.#warmUntilMs = warmUntil
    this.#weighedAtMs = nowMs
    this.#degraded = undefined
    this.#priorityView = undefined
    this.balancer = createLoadBalancer(this.#policy.loadBalancer, entries, this.#random)
  }

  /** `address:port` of the endpoint at `index`, as outlier detection knows it. */
  keyOf(index: number): string {
    return this.#keys[index] as string
  }

  /** Whether the endpoint at `index` is dialled with Istio's mutual TLS. */
  isMutualTls(index: number): boolean {
    return this.#mutual[index] === true
  }

  /** The index of an endpoint `pick` returned, in `endpoints` and `active`. */
  indexOf(endpoint: Endpoint): number {
    return this.#indexOf.get(endpoint) ?? -1
  }

  /**
   * The endpoint for one request: the balancer over the healthy endpoints (outlier detection
   * and panic decide which), or undefined when none is healthy. While some are ejected the
   * balancer runs over the rest, rebuilt only when the healthy set changes.
   */
  pick(hash: number | undefined, nowMs: number): Endpoint | undefined {
    // While any endpoint warms up (and once more after), weights follow the clock.
    if (this.#warmUntilMs !== 0 && nowMs - this.#weighedAtMs >= WARMUP_STEP_MS) this.#weigh(nowMs)
    const all = this.#entries
    const healthy = this.outlier ? this.outlier.healthy(all, nowMs).endpoints : all
    if (healthy.length === 0) return undefined
    let balancer = this.balancer
    if (this.#priorities) {
      if (this.#priorityView?.healthy !== healthy) this.#priorityView = this.#viewByPriority(healthy)
      const { loads, balancers } = this.#priorityView
      balancer = balancers[pickPriority(loads, this.#random)]
    } else if (healthy !== all) {
      if (this.#degraded?.healthy !== healthy) {
        this.#degraded = {
          healthy,
          balancer: createLoadBalancer(this.#policy.loadBalancer, healthy, this.#random),
        }
      }
      balancer = this.#degraded.balancer
    }
    // LEAST_REQUEST reads in-flight counts by position, which match `active` only in the full view.
    const active =
      balancer === this.balancer && all.length === this.endpoints.length ? this.active : undefined
    const entry = balancer?.pick({
      random: this.#random,
      hash,
      ...(active ? { activeRequests: active } : {}),
    })
    return entry && this.endpoints[entry.index]
  }

  /** This cluster's endpoints as outlier detection and the breaker see them at `nowMs`. */
  health(host: string, subset: string | null, nowMs: number): ClusterHealth {
    const outlier = this.outlier?.toJSON().endpoints
    const breaker = this.breaker
    return {
      cluster: this.name,
      service: host,
      subset,
      endpoints: this.#keys.map((address) => {
        const state = outlier?.[address]
        // An ejection past its time lasts only until the next call's sweep readmits it.
        const until = state?.ejected ? state.ejectedAtMs + state.ejectionTimeMs : undefined
        const ejected = until !== undefined && until > nowMs
        return { address, healthy: !ejected, ejected, ejectedUntil: ejected ? (until as number) : null }
      }),
      breaker: !breaker ? null : breaker.opened ? 'open' : breaker.halfOpen ? 'halfOpen' : 'closed',
    }
  }

  #viewByPriority(healthy: readonly Entry[]): PriorityView {
    const priorities = this.#priorities as readonly number[]
    const levels = Math.max(...priorities) + 1
    const total = new Array<number>(levels).fill(0)
    const byLevel: Entry[][] = Array.from({ length: levels }, () => [])
    for (const e of this.#entries) {
      const level = priorities[e.index] as number
      total[level] = (total[level] as number) + 1
    }
    for (const e of healthy) byLevel[priorities[e.index] as number]?.push(e)
    return {
      healthy,
      loads: priorityLoads(
        byLevel.map((l) => l.length),
        total,
      ),
      balancers: byLevel.map((l) =>
        l.length ? createLoadBalancer(this.#policy.loadBalancer, l, this.#random) : undefined,
      ),
    }
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
  readonly #upstreams: UpstreamOptions | undefined
  readonly #telemetry: OutboundTelemetry | undefined

  /**
   * `upstreams` receives each endpoint's connection-pool settings, for the Agent underneath;
   * `telemetry` hears of breaker state changes and ejections.
   */
  constructor(upstreams?: UpstreamOptions, telemetry?: OutboundTelemetry) {
    this.#upstreams = upstreams
    this.#telemetry = telemetry
    if (telemetry) trackClusters(telemetry, this)
  }

  get(
    snapshot: Snapshot,
    target: RouteTarget,
    source: RouteSource,
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
      cluster = new Cluster(
        `outbound|${target.port}|${subset}|${target.host}`,
        this.#upstreams,
        this.#telemetry,
      )
      byPort.set(target.port, cluster)
    }
    cluster.update(snapshot, target, source, random, nowMs)
    return cluster
  }

  /** What each cluster used so far sees of its endpoints at `nowMs` (`clusterHealth`). */
  health(nowMs: number): ClusterHealth[] {
    const out: ClusterHealth[] = []
    for (const [host, bySubset] of this.#clusters)
      for (const [subset, byPort] of bySubset)
        for (const cluster of byPort.values())
          if (!cluster.passthrough) out.push(cluster.health(host, subset || null, nowMs))
    return out
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
