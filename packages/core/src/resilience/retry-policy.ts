import { InvalidRetryOnError } from '../errors.js'
import { checkInteger, checkPositive } from '../option-checks.js'

/** What ended one attempt, as the adapter saw it. */
export type AttemptOutcome =
  | {
      readonly kind: 'response'
      readonly status: number
      /** `grpc-status` from the response headers (a trailers-only response), if any. */
      readonly grpcStatus?: number
      /** The response carried `x-envoy-ratelimited`. */
      readonly rateLimited?: boolean
    }
  /** No connection: refused, connect timeout, TLS handshake failure. Nothing was sent. */
  | { readonly kind: 'connect-failure' }
  /** The upstream disconnected or reset the stream. `requestStarted` defaults to true. */
  | { readonly kind: 'reset'; readonly requestStarted?: boolean }
  /** An HTTP/2 REFUSED_STREAM: the upstream did not process the request. */
  | { readonly kind: 'refused-stream'; readonly requestStarted?: boolean }
  /** The per-try timeout expired. */
  | { readonly kind: 'timeout' }
  /** A local limit (connection pool, circuit breaker) refused the attempt. Never retried. */
  | { readonly kind: 'overflow' }

/** Istio's `HTTPRetry`, with durations compiled to milliseconds. */
export interface HttpRetryInput {
  readonly attempts?: number
  readonly retryOn?: string
  readonly perTryTimeoutMs?: number
  /** Istio's `retries.backoff`: the base interval of the back-off. */
  readonly backoffMs?: number
}

const CONDITIONS = [
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const

export type RetryCondition = (typeof CONDITIONS)[number]

const BIT: Readonly<Record<RetryCondition, number>> = Object.freeze(
  Object.fromEntries(CONDITIONS.map((c, i) => [c, 1 << i])) as Record<RetryCondition, number>,
)
const ANY_5XX = BIT['5xx'] | BIT['gateway-error']
const GRPC_BITS: Readonly<Record<number, number>> = Object.freeze({
  1: BIT.cancelled,
  4: BIT['deadline-exceeded'],
  8: BIT['resource-exhausted'],
  13: BIT.internal,
  14: BIT.unavailable,
})

// Go's http.StatusText table: Istio accepts a number in retryOn only if Go knows the status.
const KNOWN_STATUS_CODES: ReadonlySet<number> = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306,
  307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418,
  421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
])

/** Istio's retry conditions when a route sets no `retries`. */
export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes'
export const DEFAULT_RETRY_ATTEMPTS = 2

/**
 * A route's compiled retry policy. `shouldRetry` answers, for one failed attempt, whether the
 * policy's conditions cover it, as Envoy's RetryStateImpl does; whether attempts, the retry
 * budget and the route deadline still allow a retry is for the caller to check.
 */
export class RetryPolicy {
  readonly attempts: number
  readonly retryOn: readonly RetryCondition[]
  readonly retriableStatusCodes: readonly number[]
  readonly perTryTimeoutMs: number | undefined
  readonly backoffMs: number | undefined
  readonly #mask: number

  constructor(
    attempts: number,
    retryOn: readonly RetryCondition[],
    retriableStatusCodes: readonly number[],
    perTryTimeoutMs?: number,
    backoffMs?: number,
  ) {
    this.attempts = checkInteger('attempts', attempts, 0)
    this.retryOn = Object.freeze([...retryOn])
    this.retriableStatusCodes = Object.freeze([...retriableStatusCodes])
    this.perTryTimeoutMs =
      perTryTimeoutMs === undefined ? undefined : checkPositive('perTryTimeoutMs', perTryTimeoutMs)
    this.backoffMs = backoffMs === undefined ? undefined : checkPositive('backoffMs', backoffMs)
    this.#mask = attempts === 0 ? 0 : retryOn.reduce((m, c) => m | BIT[c], 0)
  }

  shouldRetry(outcome: AttemptOutcome): boolean {
    const mask = this.#mask
    if (mask === 0) return false
    switch (outcome.kind) {
      case 'response':
        return this.#retriesResponse(outcome.status, outcome.grpcStatus, outcome.rateLimited === true)
      case 'connect-failure':
        // Nothing reached the upstream, so reset-before-request covers it too.
        return (mask & (BIT['connect-failure'] | BIT['reset-before-request'] | BIT.reset | ANY_5XX)) !== 0
      case 'refused-stream':
        if ((mask & BIT['refused-stream']) !== 0) return true
        return this.#retriesReset(outcome.requestStarted ?? true)
      case 'reset':
        return this.#retriesReset(outcome.requestStarted ?? true)
      case 'timeout':
        // Envoy resets the stream on a per-try timeout and asks as for a reset.
        return this.#retriesReset(true)
      case 'overflow':
        return false
    }
  }

  #retriesReset(requestStarted: boolean): boolean {
    const mask = this.#mask
    if (!requestStarted && (mask & BIT['reset-before-request']) !== 0) return true
    return (mask & (BIT.reset | ANY_5XX)) !== 0
  }

  #retriesResponse(status: number, grpcStatus: number | undefined, rateLimited: boolean): boolean {
    const mask = this.#mask
    // A response an upstream Envoy rate-limited is retried only under envoy-ratelimited,
    // whatever its status.
    if (rateLimited) return (mask & BIT['envoy-ratelimited']) !== 0
    if ((mask & BIT['5xx']) !== 0 && status >= 500 && status <= 599) return true
    if ((mask & BIT['gateway-error']) !== 0 && status >= 502 && status <= 504) return true
    if ((mask & BIT['retriable-4xx']) !== 0 && status === 409) return true
    if ((mask & BIT['retriable-status-codes']) !== 0 && this.retriableStatusCodes.includes(status))
      return true
    if (grpcStatus !== undefined) {
      const bit = GRPC_BITS[grpcStatus]
      if (bit !== undefined && (mask & bit) !== 0) return true
    }
    return false
  }

  toJSON(): {
    attempts: number
    retryOn: RetryCondition[]
    retriableStatusCodes: number[]
    perTryTimeoutMs?: number
    backoffMs?: number
  } {
    return {
      attempts: this.attempts,
      retryOn: [...this.retryOn],
      retriableStatusCodes: [...this.retriableStatusCodes],
      ...(this.perTryTimeoutMs === undefined ? {} : { perTryTimeoutMs: this.perTryTimeoutMs }),
      ...(this.backoffMs === undefined ? {} : { backoffMs: this.backoffMs }),
    }
  }
}

/**
 * Parses an Istio `retryOn` string: comma-separated Envoy conditions (HTTP and gRPC), and HTTP
 * status codes, which become retriable status codes. Blank entries are skipped, as Istio skips
 * them; anything else unknown is an error.
 */
export function parseRetryOn(retryOn: string): { conditions: RetryCondition[]; statusCodes: number[] } {
  const conditions: RetryCondition[] = []
  const statusCodes: number[] = []
  for (const raw of retryOn.split(',')) {
    const part = raw.trim()
    if (part === '') continue
    if (/^\d+$/.test(part) && KNOWN_STATUS_CODES.has(Number(part))) {
      if (!statusCodes.includes(Number(part))) statusCodes.push(Number(part))
    } else if ((CONDITIONS as readonly string[]).includes(part)) {
      if (!conditions.includes(part as RetryCondition)) conditions.push(part as RetryCondition)
    } else {
      throw new InvalidRetryOnError(part)
    }
  }
  // Istio adds the condition that makes listed codes count when only codes were given.
  if (statusCodes.length > 0 && !conditions.includes('retriable-status-codes')) {
    conditions.push('retriable-status-codes')
  }
  return { conditions, statusCodes }
}

/**
 * Istio's translation of a route's `retries` (pilot's retry.ConvertPolicy):
 * - unset: 2 attempts on `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`,
 *   with no status code listed, so no HTTP status is retried (older Istio releases listed 503);
 * - `attempts` unset or 0: no retries at all, whatever else is set;
 * - otherwise the default overridden by what is set; `retryOn` replaces the conditions whole.
 */
export function compileRetryPolicy(retries: HttpRetryInput | undefined): RetryPolicy {
  const defaults = parseRetryOn(DEFAULT_RETRY_ON)
  if (retries === undefined) {
    return new RetryPolicy(DEFAULT_RETRY_ATTEMPTS, defaults.conditions, defaults.statusCodes)
  }
  const attempts = retries.attempts ?? 0
  if (attempts <= 0) return new RetryPolicy(0, [], [])
  const retryOn = retries.retryOn ? parseRetryOn(retries.retryOn) : defaults
  return new RetryPolicy(
    attempts,
    retryOn.conditions,
    retryOn.statusCodes,
    retries.perTryTimeoutMs,
    retries.backoffMs,
  )
}
