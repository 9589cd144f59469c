import type { TrafficPolicy } from '@weft/config'
import { durationMs } from '../duration.js'

type ConnectionPoolSettings = NonNullable<TrafficPolicy['connectionPool']>

/** Envoy's circuit-breaker thresholds, as Istio's `connectionPool` sets them. */
export interface PoolLimits {
  readonly maxConnections: number
  readonly maxPendingRequests: number
  readonly maxRequests: number
  readonly maxRetries: number
  /** 0: unlimited. */
  readonly maxRequestsPerConnection: number
  readonly connectTimeoutMs: number
  /** Undefined: the HTTP client's own idle timeout. */
  readonly idleTimeoutMs?: number
}

// Istio leaves every threshold at Envoy's "unlimited" unless the DestinationRule sets it.
const UNLIMITED = 2 ** 32 - 1

/** The limits a DestinationRule's `connectionPool` sets; Istio's defaults where it is silent (connect timeout 10 s). */
export function poolLimits(pool: ConnectionPoolSettings | undefined): PoolLimits {
  const idle = durationMs(pool?.http?.idleTimeout ?? pool?.tcp?.idleTimeout)
  return Object.freeze({
    maxConnections: pool?.tcp?.maxConnections || UNLIMITED,
    maxPendingRequests: pool?.http?.http1MaxPendingRequests || UNLIMITED,
    maxRequests: pool?.http?.http2MaxRequests || UNLIMITED,
    maxRetries: pool?.http?.maxRetries || UNLIMITED,
    maxRequestsPerConnection: pool?.http?.maxRequestsPerConnection ?? 0,
    connectTimeoutMs: durationMs(pool?.tcp?.connectTimeout) ?? 10_000,
    ...(idle !== undefined ? { idleTimeoutMs: idle } : {}),
  })
}

export type Admission = 'admitted' | 'overflow'

/**
 * The counters Envoy's circuit breakers keep for one cluster: requests in flight and retries in
 * flight. `admit*` either takes a slot or answers `overflow` (Envoy's UO flag, a 503 to the
 * caller); every admitted slot is given back with the matching `release*`.
 *
 * Over HTTP/1.1 a connection carries one request at a time, so the requests beyond
 * `maxConnections` are the ones waiting for a connection: Envoy's pending requests, capped by
 * `http1MaxPendingRequests`. With the Bookinfo task's `maxConnections: 1` and
 * `http1MaxPendingRequests: 1`, two requests may be in flight and a third overflows.
 */
export class ConnectionPool {
  readonly limits: PoolLimits
  readonly #admissible: number
  #active = 0
  #retries = 0

  constructor(limits: PoolLimits) {
    this.limits = limits
    this.#admissible = Math.min(limits.maxRequests, limits.maxConnections + limits.maxPendingRequests)
  }

  get active(): number {
    return this.#active
  }

  /** Requests waiting for a connection. */
  get pending(): number {
    return Math.max(0, this.#active - this.limits.maxConnections)
  }

  get retries(): number {
    return this.#retries
  }

  admitRequest(): Admission {
    if (this.#active >= this.#admissible) return 'overflow'
    this.#active++
    return 'admitted'
  }

  releaseRequest(): void {
    if (this.#active > 0) this.#active--
  }

  admitRetry(): Admission {
    if (this.#retries >= this.limits.maxRetries) return 'overflow'
    this.#retries++
    return 'admitted'
  }

  releaseRetry(): void {
    if (this.#retries > 0) this.#retries--
  }

  toJSON(): { active: number; pending: number; retries: number; limits: PoolLimits } {
    return { active: this.#active, pending: this.pending, retries: this.#retries, limits: this.limits }
  }
}
