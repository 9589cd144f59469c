/**
 * Deadlines handed downstream, so that a callee stops working for a caller who has given up.
 * Istio does not do this; Weft does, in the headers the ecosystem already reads: gRPC's
 * `grpc-timeout`, and for HTTP Envoy's `x-envoy-expected-rq-timeout-ms` (what an Envoy router
 * sets on upstream requests and an Envoy with `respect_expected_rq_timeout` honours).
 */
export const HTTP_DEADLINE_HEADER = 'x-envoy-expected-rq-timeout-ms'
export const GRPC_TIMEOUT_HEADER = 'grpc-timeout'

/** Time left before `deadlineMs`, never below 0; undefined when there is no deadline. */
export function remainingMs(deadlineMs: number | undefined, nowMs: number): number | undefined {
  return deadlineMs === undefined ? undefined : Math.max(0, deadlineMs - nowMs)
}

/**
 * An attempt's timeout: the per-try timeout, cut to what is left of the route's deadline, as
 * Envoy bounds a try by the request's global timeout. Undefined when neither is set.
 */
export function attemptTimeoutMs(
  perTryTimeoutMs: number | undefined,
  routeRemainingMs: number | undefined,
): number | undefined {
  if (perTryTimeoutMs === undefined) return routeRemainingMs
  if (routeRemainingMs === undefined) return perTryTimeoutMs
  return Math.min(perTryTimeoutMs, routeRemainingMs)
}

const GRPC_UNITS: readonly [suffix: string, ms: number][] = [
  ['n', 1e-6],
  ['u', 1e-3],
  ['m', 1],
  ['S', 1000],
  ['M', 60_000],
  ['H', 3_600_000],
]

/** gRPC's `TimeoutValue`: at most 8 digits and a unit; the finest unit that fits, rounded up. */
export function formatGrpcTimeout(ms: number): string {
  const value = Math.max(0, ms)
  for (const [unit, size] of GRPC_UNITS.slice(2)) {
    const amount = Math.ceil(value / size)
    if (amount < 100_000_000) return `${amount}${unit}`
  }
  return '99999999H'
}

/** A `grpc-timeout` header in milliseconds; undefined when malformed (gRPC then ignores it). */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([numSMH])$/.exec(value)
  if (!m) return undefined
  const unit = GRPC_UNITS.find(([u]) => u === m[2]) as [string, number]
  return Number(m[1]) * unit[1]
}

/** An `x-envoy-expected-rq-timeout-ms` header in milliseconds; undefined when malformed. */
export function parseHttpDeadline(value: string): number | undefined {
  return /^\d{1,12}$/.test(value) ? Number(value) : undefined
}
