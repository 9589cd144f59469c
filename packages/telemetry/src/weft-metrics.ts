import { Counter, Gauge, type Registry } from 'prom-client'

export type BreakerState = 'closed' | 'open' | 'half-open'
const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open']

/**
 * Weft's own series, beside Istio's: what Envoy exposes as cluster and listener stats, named for
 * Weft. Every label is bounded by the config: `cluster` is Envoy's cluster name
 * (`outbound|9080|v1|reviews.default.svc.cluster.local`), `policy` a resource's
 * `Kind/namespace/name`. The methods are the entry points the client, server and mesh call.
 */
export class WeftMetrics {
  readonly #breaker: Gauge<'cluster' | 'state'>
  readonly #ejections: Counter<'cluster'>
  readonly #retries: Counter<'cluster'>
  readonly #budget: Counter<'cluster'>
  readonly #rateLimited: Counter<'policy'>
  readonly #denied: Counter<'policy' | 'stage'>
  readonly #snapshot: Gauge<'version'>
  readonly #controlPlane: Gauge<string>
  #version: string | undefined

  constructor(registry: Registry) {
    const registers = [registry]
    this.#breaker = new Gauge({
      name: 'weft_circuit_breaker_state',
      help: "State of Weft's circuit breaker per destination subset: 1 for the current state (closed, open, half-open), 0 for the others",
      labelNames: ['cluster', 'state'],
      registers,
    })
    this.#ejections = new Counter({
      name: 'weft_outlier_ejections_total',
      help: 'Endpoints ejected by outlier detection, per cluster',
      labelNames: ['cluster'],
      registers,
    })
    this.#retries = new Counter({
      name: 'weft_retries_total',
      help: 'Retries made (attempts after the first), per cluster',
      labelNames: ['cluster'],
      registers,
    })
    this.#budget = new Counter({
      name: 'weft_retry_budget_exhausted_total',
      help: 'Retries the route allowed but the retry budget refused, per cluster',
      labelNames: ['cluster'],
      registers,
    })
    this.#rateLimited = new Counter({
      name: 'weft_rate_limited_requests_total',
      help: 'Inbound requests refused by a RateLimitPolicy (429), per policy',
      labelNames: ['policy'],
      registers,
    })
    this.#denied = new Counter({
      name: 'weft_authorization_denials_total',
      help: 'Inbound requests denied, per deciding policy and pipeline stage',
      labelNames: ['policy', 'stage'],
      registers,
    })
    this.#snapshot = new Gauge({
      name: 'weft_config_snapshot_info',
      help: 'The config snapshot in force: 1, labelled with its content-hash version',
      labelNames: ['version'],
      registers,
    })
    this.#controlPlane = new Gauge({
      name: 'weft_control_plane_connected',
      help: '1 while the control-plane watch stream is connected, 0 otherwise',
      registers,
    })
  }

  breakerState(cluster: string, state: BreakerState): void {
    for (const s of BREAKER_STATES) this.#breaker.labels(cluster, s).set(s === state ? 1 : 0)
  }

  endpointEjected(cluster: string): void {
    this.#ejections.labels(cluster).inc()
  }

  retried(cluster: string, retries: number): void {
    if (retries > 0) this.#retries.labels(cluster).inc(retries)
  }

  retryBudgetExhausted(cluster: string): void {
    this.#budget.labels(cluster).inc()
  }

  rateLimited(policy: string): void {
    this.#rateLimited.labels(policy).inc()
  }

  authorizationDenied(policy: string, stage: string): void {
    this.#denied.labels(policy, stage).inc()
  }

  snapshotApplied(version: string): void {
    if (version === this.#version) return
    if (this.#version !== undefined) this.#snapshot.remove(this.#version)
    this.#version = version
    this.#snapshot.labels(version).set(1)
  }

  controlPlaneConnected(connected: boolean): void {
    this.#controlPlane.set(connected ? 1 : 0)
  }
}
