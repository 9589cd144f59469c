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
 * The counters Envoy's circuit breakers keep for one cluster: requests in flight, requests
 * waiting for a connection, and retries in flight. `admit*` either takes a slot or answers
 * `overflow` (Envoy's UO flag, a 503 to the caller); every admitted slot is given back with the
 * matching `release*`. The adapter decides what is pending (no free connection) and what is
 * active.
 */
export class ConnectionPool {
  readonly limits: PoolLimits
  #active = 0
  #pending = 0
  #retries = 0

  constructor(limits: PoolLimits) {
    this.limits = limits
  }

  get active(): number {
    return this.#active
  }

  get pending(): number {
    return this.#pending
  }

  get retries(): number {
    return this.#retries
  }

  admitRequest(): Admission {
    if (this.#active >= this.limits.maxRequests) return 'overflow'
    this.#active++
    return 'admitted'
  }

  releaseRequest(): void {
    if (this.#active > 0) this.#active--
  }

  admitPending(): Admission {
    if (this.#pending >= this.limits.maxPendingRequests) return 'overflow'
    this.#pending++
    return 'admitted'
  }

  releasePending(): void {
    if (this.#pending > 0) this.#pending--
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
    return { active: this.#active, pending: this.#pending, retries: this.#retries, limits: this.limits }
  }
}
