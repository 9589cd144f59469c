import { endpointKey } from '../balancing/endpoint.js'
import { checkInteger, checkNumber, checkPositive } from '../option-checks.js'

/** Istio's `outlierDetection`, durations in milliseconds, with Envoy's defaults where unset. */
export interface OutlierDetectionOptions {
  /** Consecutive 5xx (and, unless split, local-origin failures) before ejection. Default 5; 0 disables. */
  readonly consecutive5xxErrors?: number
  /** Consecutive 502/503/504 before ejection. Default 0: disabled, as in Istio. */
  readonly consecutiveGatewayErrors?: number
  /** Consecutive local-origin failures before ejection; only with the split. Default 5; 0 disables. */
  readonly consecutiveLocalOriginFailures?: number
  /** Count connect failures, resets and timeouts apart from upstream responses. Default false. */
  readonly splitExternalLocalOriginErrors?: boolean
  /** Time between sweeps, which re-admit endpoints whose ejection is over. Default 10 s. */
  readonly intervalMs?: number
  /** Ejection time for a first ejection, multiplied on repeats. Default 30 s. */
  readonly baseEjectionTimeMs?: number
  /** Cap on the ejection time; Envoy's `max_ejection_time`, not in Istio. Default max(300 s, base). */
  readonly maxEjectionTimeMs?: number
  /** Largest share of endpoints ejected at once, after the ejection. Default 10. */
  readonly maxEjectionPercent?: number
  /** Below this share of healthy endpoints, balance over all of them (panic). Default 0: never. */
  readonly minHealthPercent?: number
}

/**
 * What became of one request to an endpoint. `response` is an upstream (external-origin)
 * answer; the others are local-origin failures: the connection could not be made, the stream
 * was reset, or the attempt timed out.
 */
export type UpstreamOutcome =
  | { readonly kind: 'response'; readonly status: number }
  | { readonly kind: 'connect-failure' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'timeout' }

export type EjectionReason =
  | 'consecutive-5xx'
  | 'consecutive-gateway-failure'
  | 'consecutive-local-origin-failure'

export type OutlierEvent =
  | {
      readonly type: 'ejected'
      readonly endpoint: string
      readonly reason: EjectionReason
      readonly atMs: number
      readonly ejectionTimeMs: number
      readonly timesEjected: number
    }
  | {
      readonly type: 'ejection-overflow'
      readonly endpoint: string
      readonly reason: EjectionReason
      readonly atMs: number
    }
  | { readonly type: 'unejected'; readonly endpoint: string; readonly atMs: number }

/** The endpoints to balance over, and whether panic mode put ejected ones back in. */
export interface HealthySet<E> {
  readonly endpoints: readonly E[]
  readonly panic: boolean
}

interface EndpointState {
  consecutive5xx: number
  consecutiveGateway: number
  consecutiveLocalOrigin: number
  ejected: boolean
  ejectedAtMs: number
  ejectionTimeMs: number
  /** Envoy's `ejectTimeBackoff`: grows with each ejection, shrinks each healthy interval. */
  backoff: number
  timesEjected: number
  lastUnejectedAtMs: number | undefined
}

// Envoy's default overprovisioning factor: a priority with at least 1/1.4 of its endpoints
// healthy counts as fully available and is never in panic.
const OVERPROVISIONING_PERCENT = 140

/**
 * Envoy's outlier detection for one cluster, as Istio configures it. Consecutive-error
 * ejections happen inline, as a response is recorded; re-admission happens only at sweeps,
 * every `intervalMs` from the detector's creation. Core starts no timer: every call that is
 * given `nowMs` first runs the sweeps that fell due up to then, so no caller has to drive them.
 *
 * Ejection time is `min(base × backoff, max)`, where the backoff counts ejections and decays by
 * one for each sweep that finds the endpoint healthy for a full interval (current Envoy; the
 * older "× number of times ejected" never decayed). An ejection is allowed only when the share
 * of ejected endpoints after it stays within `maxEjectionPercent` (Envoy since 1.27: with the
 * default 10 %, fewer than ten endpoints means none is ever ejected).
 */
export class OutlierDetector {
  readonly #consecutive5xx: number
  readonly #consecutiveGateway: number
  readonly #consecutiveLocalOrigin: number
  readonly #split: boolean
  readonly #intervalMs: number
  readonly #baseEjectionTimeMs: number
  readonly #maxEjectionTimeMs: number
  readonly #maxEjectionPercent: number
  readonly #minHealthPercent: number

  readonly #states = new Map<string, EndpointState>()
  #ejectedCount = 0
  #nextSweepMs: number
  #version = 0
  #cacheInput: readonly unknown[] | undefined
  #cacheVersion = -1
  #cacheResult: HealthySet<unknown> | undefined

  constructor(options: OutlierDetectionOptions, endpointKeys: Iterable<string>, nowMs: number) {
    this.#consecutive5xx = checkInteger('consecutive5xxErrors', options.consecutive5xxErrors ?? 5, 0)
    this.#consecutiveGateway = checkInteger(
      'consecutiveGatewayErrors',
      options.consecutiveGatewayErrors ?? 0,
      0,
    )
    this.#consecutiveLocalOrigin = checkInteger(
      'consecutiveLocalOriginFailures',
      options.consecutiveLocalOriginFailures ?? 5,
      0,
    )
    this.#split = options.splitExternalLocalOriginErrors ?? false
    this.#intervalMs = checkPositive('intervalMs', options.intervalMs ?? 10_000)
    this.#baseEjectionTimeMs = checkPositive('baseEjectionTimeMs', options.baseEjectionTimeMs ?? 30_000)
    this.#maxEjectionTimeMs = checkNumber(
      'maxEjectionTimeMs',
      options.maxEjectionTimeMs ?? Math.max(300_000, this.#baseEjectionTimeMs),
      this.#baseEjectionTimeMs,
    )
    this.#maxEjectionPercent = Math.min(
      100,
      checkNumber('maxEjectionPercent', options.maxEjectionPercent ?? 10, 0),
    )
    this.#minHealthPercent = checkNumber('minHealthPercent', options.minHealthPercent ?? 0, 0, 100)
    this.#nextSweepMs = checkNumber('nowMs', nowMs, -Number.MAX_VALUE) + this.#intervalMs
    for (const key of endpointKeys) this.#states.set(key, newState())
  }

  /**
   * Replaces the set of endpoints. Endpoints that stay keep their state; new ones start clean;
   * removed ones are forgotten, as Envoy forgets hosts that leave a cluster.
   */
  setEndpoints(endpointKeys: Iterable<string>, nowMs: number): void {
    this.#advance(nowMs)
    const keep = new Set(endpointKeys)
    for (const [key, state] of this.#states) {
      if (keep.has(key)) continue
      if (state.ejected) this.#ejectedCount--
      this.#states.delete(key)
    }
    for (const key of keep) if (!this.#states.has(key)) this.#states.set(key, newState())
    this.#version++
  }

  /** Records one request's outcome; returns the ejection it caused or was refused, if any. */
  record(endpoint: string, outcome: UpstreamOutcome, nowMs: number): OutlierEvent | undefined {
    this.#advance(nowMs)
    const state = this.#states.get(endpoint)
    // Traffic still reaches an ejected endpoint in panic mode; Envoy ignores what it reports
    // and resets the counters when the endpoint is re-admitted.
    if (state === undefined || state.ejected) return undefined

    if (outcome.kind === 'response') {
      if (this.#split) state.consecutiveLocalOrigin = 0
      return this.#recordStatus(endpoint, state, outcome.status, nowMs)
    }
    if (this.#split) {
      if (
        this.#consecutiveLocalOrigin > 0 &&
        ++state.consecutiveLocalOrigin >= this.#consecutiveLocalOrigin
      ) {
        state.consecutiveLocalOrigin = 0
        return this.#eject(endpoint, state, 'consecutive-local-origin-failure', nowMs)
      }
      return undefined
    }
    // Without the split Envoy maps a timeout to 504 and other local failures to 503.
    return this.#recordStatus(endpoint, state, outcome.kind === 'timeout' ? 504 : 503, nowMs)
  }

  #recordStatus(
    endpoint: string,
    state: EndpointState,
    status: number,
    nowMs: number,
  ): OutlierEvent | undefined {
    if (status < 500 || status > 599) {
      state.consecutive5xx = 0
      state.consecutiveGateway = 0
      return undefined
    }
    // A gateway error counts towards both limits; Envoy checks the gateway one first.
    let gatewayHit = false
    if (status >= 502 && status <= 504) {
      gatewayHit = this.#consecutiveGateway > 0 && ++state.consecutiveGateway >= this.#consecutiveGateway
    } else {
      state.consecutiveGateway = 0
    }
    const fiveHit = this.#consecutive5xx > 0 && ++state.consecutive5xx >= this.#consecutive5xx
    let event: OutlierEvent | undefined
    if (gatewayHit) {
      state.consecutiveGateway = 0
      event = this.#eject(endpoint, state, 'consecutive-gateway-failure', nowMs)
      if (event.type === 'ejected') return event
    }
    if (fiveHit) {
      state.consecutive5xx = 0
      return this.#eject(endpoint, state, 'consecutive-5xx', nowMs)
    }
    return event
  }

  #eject(endpoint: string, state: EndpointState, reason: EjectionReason, nowMs: number): OutlierEvent {
    const ejectedPercent = (100 * (this.#ejectedCount + 1)) / this.#states.size
    if (ejectedPercent > this.#maxEjectionPercent) {
      return { type: 'ejection-overflow', endpoint, reason, atMs: nowMs }
    }
    const base = this.#baseEjectionTimeMs
    if (state.backoff * base < this.#maxEjectionTimeMs + base) state.backoff++
    state.ejected = true
    state.ejectedAtMs = nowMs
    state.ejectionTimeMs = Math.min(base * state.backoff, this.#maxEjectionTimeMs)
    state.timesEjected++
    this.#ejectedCount++
    this.#version++
    return {
      type: 'ejected',
      endpoint,
      reason,
      atMs: nowMs,
      ejectionTimeMs: state.ejectionTimeMs,
      timesEjected: state.timesEjected,
    }
  }

  /**
   * Runs the sweeps due up to `nowMs` and returns the re-admissions they made. Calling it is
   * optional (every other method sweeps first); it is how an adapter learns of re-admissions.
   */
  sweep(nowMs: number): readonly OutlierEvent[] {
    const events: OutlierEvent[] = []
    this.#advance(nowMs, events)
    return events
  }

  isEjected(endpoint: string, nowMs: number): boolean {
    this.#advance(nowMs)
    return this.#states.get(endpoint)?.ejected ?? false
  }

  /**
   * The endpoints to balance over: those not ejected, or all of them in panic mode. Envoy is in
   * panic when the healthy share is below `minHealthPercent` and, with its overprovisioning
   * factor of 1.4, below full availability. With `minHealthPercent` 0 the result may be empty,
   * which the adapter answers as "no healthy upstream". The result is cached until the
   * ejections or the input array change.
   */
  healthy<E extends { readonly address: string; readonly port: number }>(
    endpoints: readonly E[],
    nowMs: number,
  ): HealthySet<E> {
    this.#advance(nowMs)
    if (this.#cacheInput === endpoints && this.#cacheVersion === this.#version) {
      return this.#cacheResult as HealthySet<E>
    }
    const usable = endpoints.filter((e) => !(this.#states.get(endpointKey(e))?.ejected ?? false))
    const total = endpoints.length
    const healthyCount = usable.length
    const panic =
      healthyCount < total &&
      this.#minHealthPercent > 0 &&
      healthyCount * OVERPROVISIONING_PERCENT < total * 100 &&
      healthyCount * 100 < this.#minHealthPercent * total
    const result: HealthySet<E> = Object.freeze({
      endpoints: panic || healthyCount === total ? endpoints : Object.freeze(usable),
      panic,
    })
    this.#cacheInput = endpoints
    this.#cacheVersion = this.#version
    this.#cacheResult = result
    return result
  }

  /**
   * Applies every sweep at `nextSweep + k × interval <= nowMs` in closed form, so a long quiet
   * spell costs one pass over the endpoints, not one per missed interval.
   */
  #advance(nowMs: number, events?: OutlierEvent[]): void {
    const first = this.#nextSweepMs
    if (!(nowMs >= first)) return
    const interval = this.#intervalMs
    const last = first + Math.floor((nowMs - first) / interval) * interval
    for (const [key, state] of this.#states) {
      if (state.ejected) {
        const dueMs = state.ejectedAtMs + state.ejectionTimeMs
        const sweepMs = dueMs <= first ? first : first + Math.ceil((dueMs - first) / interval) * interval
        if (sweepMs > last) continue
        state.ejected = false
        state.consecutive5xx = 0
        state.consecutiveGateway = 0
        state.consecutiveLocalOrigin = 0
        state.lastUnejectedAtMs = sweepMs
        this.#ejectedCount--
        this.#version++
        events?.push({ type: 'unejected', endpoint: key, atMs: sweepMs })
      }
      if (state.backoff > 0 && state.lastUnejectedAtMs !== undefined) {
        // Sweeps that find the endpoint healthy a full interval after its re-admission.
        const from = state.lastUnejectedAtMs + interval
        const start = from <= first ? first : first + Math.ceil((from - first) / interval) * interval
        if (start <= last)
          state.backoff = Math.max(0, state.backoff - (Math.floor((last - start) / interval) + 1))
      }
    }
    this.#nextSweepMs = last + interval
  }

  toJSON(): { ejected: number; endpoints: Record<string, EndpointSummary> } {
    const endpoints: Record<string, EndpointSummary> = {}
    for (const [key, s] of this.#states) {
      endpoints[key] = s.ejected
        ? {
            ejected: true,
            timesEjected: s.timesEjected,
            ejectionTimeMs: s.ejectionTimeMs,
            ejectedAtMs: s.ejectedAtMs,
          }
        : { ejected: false, timesEjected: s.timesEjected }
    }
    return { ejected: this.#ejectedCount, endpoints }
  }
}

/** What `weft dump` shows of one endpoint's outlier state. */
export type EndpointSummary =
  | {
      readonly ejected: true
      readonly timesEjected: number
      readonly ejectionTimeMs: number
      readonly ejectedAtMs: number
    }
  | { readonly ejected: false; readonly timesEjected: number }

function newState(): EndpointState {
  return {
    consecutive5xx: 0,
    consecutiveGateway: 0,
    consecutiveLocalOrigin: 0,
    ejected: false,
    ejectedAtMs: 0,
    ejectionTimeMs: 0,
    backoff: 0,
    timesEjected: 0,
    lastUnejectedAtMs: undefined,
  }
}

export function createOutlierDetector(
  options: OutlierDetectionOptions,
  endpointKeys: Iterable<string>,
  nowMs: number,
): OutlierDetector {
  return new OutlierDetector(options, endpointKeys, nowMs)
}
