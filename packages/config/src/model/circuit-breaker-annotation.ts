import { parseDurationMs } from './duration.js'

/**
 * Weft's circuit breaker for a whole destination (subset), beside Istio's per-endpoint outlier
 * detection: opt-in by an annotation on the DestinationRule, since Istio has no such field.
 *
 *   metadata:
 *     annotations:
 *       weft.dev/circuit-breaker: '{"errorThresholdPercentage": 50, "volumeThreshold": 20, "resetTimeout": "30s"}'
 */
export const CIRCUIT_BREAKER_ANNOTATION = 'weft.dev/circuit-breaker'

export interface CircuitBreakerSettings {
  /** Failures (5xx, connect failures, resets, timeouts) as a share of calls that open it. Default 50. */
  readonly errorThresholdPercentage: number
  /** Calls in the window before it may open. Default 20. */
  readonly volumeThreshold: number
  /** How long it stays open before letting one call through (half-open). Default 30 s. */
  readonly resetTimeoutMs: number
  /** The window failures are counted over. Default 10 s. */
  readonly rollingWindowMs: number
}

const FIELDS = ['errorThresholdPercentage', 'volumeThreshold', 'resetTimeout', 'rollingWindow']

/** The settings an annotation value asks for, or the reason it cannot be used. */
export function parseCircuitBreakerAnnotation(value: string): CircuitBreakerSettings | { error: string } {
  let raw: unknown
  try {
    raw = JSON.parse(value)
  } catch (e) {
    return { error: `${CIRCUIT_BREAKER_ANNOTATION} must be a JSON object: ${(e as Error).message}` }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { error: `${CIRCUIT_BREAKER_ANNOTATION} must be a JSON object` }
  const o = raw as Record<string, unknown>
  const unknown = Object.keys(o).find((k) => !FIELDS.includes(k))
  if (unknown)
    return { error: `${CIRCUIT_BREAKER_ANNOTATION}: unknown field "${unknown}"; known: ${FIELDS.join(', ')}` }
  const pct = o.errorThresholdPercentage ?? 50
  const volume = o.volumeThreshold ?? 20
  const reset =
    typeof o.resetTimeout === 'string'
      ? parseDurationMs(o.resetTimeout)
      : o.resetTimeout === undefined
        ? 30_000
        : undefined
  const window =
    typeof o.rollingWindow === 'string'
      ? parseDurationMs(o.rollingWindow)
      : o.rollingWindow === undefined
        ? 10_000
        : undefined
  if (typeof pct !== 'number' || !(pct > 0 && pct <= 100))
    return { error: `${CIRCUIT_BREAKER_ANNOTATION}: errorThresholdPercentage must be in (0, 100]` }
  if (typeof volume !== 'number' || !Number.isInteger(volume) || volume < 1)
    return { error: `${CIRCUIT_BREAKER_ANNOTATION}: volumeThreshold must be a whole number ≥ 1` }
  if (reset === undefined || reset < 1)
    return { error: `${CIRCUIT_BREAKER_ANNOTATION}: resetTimeout must be a duration ≥ 1ms, such as "30s"` }
  if (window === undefined || window < 1)
    return { error: `${CIRCUIT_BREAKER_ANNOTATION}: rollingWindow must be a duration ≥ 1ms, such as "10s"` }
  return Object.freeze({
    errorThresholdPercentage: pct,
    volumeThreshold: volume,
    resetTimeoutMs: reset,
    rollingWindowMs: window,
  })
}
