import { checkNumber, checkPositive } from '../option-checks.js'

export interface BackoffOptions {
  /** Envoy's `retry_back_off.base_interval` (Istio's `retries.backoff`). Default 25 ms. */
  readonly baseIntervalMs?: number
  /** Envoy's `retry_back_off.max_interval`. Default 10 × the base. */
  readonly maxIntervalMs?: number
  /**
   * Envoy's `rate_limited_retry_back_off.max_interval`: a `Retry-After` longer than this is
   * ignored and the exponential back-off used instead. Default 300 s.
   */
  readonly retryAfterMaxMs?: number
}

/** How long to wait before a retry, and whether the upstream's `Retry-After` decided it. */
export interface RetryDelay {
  readonly delayMs: number
  readonly source: 'retry-after' | 'exponential'
}

/**
 * Envoy's retry back-off. Retry n (from 1) waits a uniformly random whole number of
 * milliseconds in `[0, min(base × 2^(n-1), max))` ("full jitter": 0–24 ms, 0–49 ms, 0–99 ms …
 * with the defaults, as Envoy's JitteredExponentialBackOffStrategy draws them). A usable
 * `Retry-After` from the failed attempt replaces that: Envoy's rate-limited back-off waits a
 * random time in `[after, 1.5 × after)`, so that clients told the same time do not return at once.
 */
export class RetryBackoff {
  readonly baseIntervalMs: number
  readonly maxIntervalMs: number
  readonly retryAfterMaxMs: number

  constructor(options: BackoffOptions = {}) {
    this.baseIntervalMs = checkPositive('baseIntervalMs', options.baseIntervalMs ?? 25)
    this.maxIntervalMs = checkNumber(
      'maxIntervalMs',
      options.maxIntervalMs ?? 10 * this.baseIntervalMs,
      this.baseIntervalMs,
    )
    this.retryAfterMaxMs = checkPositive('retryAfterMaxMs', options.retryAfterMaxMs ?? 300_000)
  }

  /** The exponential back-off for retry `retryNumber` (1 for the first retry). */
  exponentialMs(retryNumber: number, random: () => number): number {
    const doublings = Math.min(Math.max(retryNumber, 1) - 1, 52)
    const ceiling = Math.min(this.baseIntervalMs * 2 ** doublings, this.maxIntervalMs)
    return Math.min(Math.floor(random() * ceiling), Math.ceil(ceiling) - 1)
  }

  /**
   * The delay before retry `retryNumber`. `retryAfter` is the failed response's `Retry-After`
   * header, if any; it is honoured when it parses to more than 1 ms and at most
   * `retryAfterMaxMs` (Envoy ignores values it cannot use and falls back).
   */
  next(retryNumber: number, random: () => number, nowMs: number, retryAfter?: string): RetryDelay {
    if (retryAfter !== undefined) {
      const afterMs = parseRetryAfterMs(retryAfter, nowMs)
      if (afterMs !== undefined && afterMs > 1 && afterMs <= this.retryAfterMaxMs) {
        return { delayMs: afterMs + Math.floor(random() * (afterMs / 2)), source: 'retry-after' }
      }
    }
    return { delayMs: this.exponentialMs(retryNumber, random), source: 'exponential' }
  }

  toJSON(): { baseIntervalMs: number; maxIntervalMs: number; retryAfterMaxMs: number } {
    return {
      baseIntervalMs: this.baseIntervalMs,
      maxIntervalMs: this.maxIntervalMs,
      retryAfterMaxMs: this.retryAfterMaxMs,
    }
  }
}

export function createRetryBackoff(options?: BackoffOptions): RetryBackoff {
  return new RetryBackoff(options)
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const IMF_FIXDATE = /^[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/
const RFC850_DATE = /^[A-Z][a-z]{5,8}, (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/
const ASCTIME_DATE = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/

/**
 * A `Retry-After` value in milliseconds from `nowMs`: delay-seconds, or an HTTP-date in any of
 * the three forms RFC 9110 makes recipients accept (all in GMT; a date in the past means 0).
 * Undefined when the value is neither.
 */
export function parseRetryAfterMs(value: string, nowMs: number): number | undefined {
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const imf = IMF_FIXDATE.exec(text)
  const rfc850 = imf ? null : RFC850_DATE.exec(text)
  const asctime = imf || rfc850 ? null : ASCTIME_DATE.exec(text)
  let dateMs: number | undefined
  if (imf) dateMs = utc(Number(imf[3]), imf, 2, 1, 4)
  else if (rfc850) dateMs = utc(fullYear(Number(rfc850[3]), nowMs), rfc850, 2, 1, 4)
  else if (asctime) dateMs = utc(Number(asctime[6]), asctime, 1, 2, 3)
  return dateMs === undefined ? undefined : Math.max(0, dateMs - nowMs)
}

/** Date.UTC from a matched HTTP-date: month name, day and `hh:mm:ss` at the given groups. */
function utc(year: number, m: RegExpExecArray, monthAt: number, dayAt: number, timeAt: number) {
  const month = MONTHS.indexOf(m[monthAt] as string)
  const day = Number(m[dayAt])
  const hour = Number(m[timeAt])
  const minute = Number(m[timeAt + 1])
  const second = Number(m[timeAt + 2])
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined
  return Date.UTC(year, month, day, hour, minute, second)
}

/** RFC 9110: a two-digit year more than 50 years ahead is in the previous century. */
function fullYear(twoDigits: number, nowMs: number): number {
  const currentYear = new Date(nowMs).getUTCFullYear()
  let year = Math.floor(currentYear / 100) * 100 + twoDigits
  if (year > currentYear + 50) year -= 100
  return year
}
