import type { CircuitBreakerSettings } from '@weft/config'
import CircuitBreaker from 'opossum'

/**
 * Weft's breaker for a whole destination subset, with opossum: when the share of failed calls
 * to the subset (over its rolling window, past its volume) reaches the threshold, calls fail at
 * once with 503 UO until `resetTimeout`, then one call probes. Outlier detection still ejects
 * single bad endpoints; the breaker answers when the subset as a whole is failing, so callers
 * stop queueing on a dependency that cannot answer.
 */
export function createCircuitBreaker(
  settings: CircuitBreakerSettings,
  name: string,
): CircuitBreaker<[() => Promise<void>], void> {
  return new CircuitBreaker((attempt: () => Promise<void>) => attempt(), {
    name,
    // Weft's own timeouts (route and per-try) already bound each call.
    timeout: false,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    volumeThreshold: settings.volumeThreshold,
    resetTimeout: settings.resetTimeoutMs,
    rollingCountTimeout: settings.rollingWindowMs,
    rollingCountBuckets: 10,
  })
}

/** opossum's error when the circuit is open: no call was made. */
export function isOpenCircuit(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'EOPENBREAKER'
}
