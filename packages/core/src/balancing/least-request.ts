import { checkInteger, checkNumber } from '../option-checks.js'
import { type Endpoint, endpointWeight, hasEqualWeights } from './endpoint.js'

export interface LeastRequestOptions {
  /** Random endpoints compared per pick when weights are equal. Envoy's default: 2 (P2C). */
  readonly choiceCount?: number
  /** Exponent of the active-request penalty when weights differ. Envoy's default: 1. */
  readonly activeRequestBias?: number
}

/**
 * Envoy's LEAST_REQUEST. With equal weights: `choiceCount` endpoints drawn at random (with
 * replacement) and the one with fewest active requests wins, the first drawn on a tie. With
 * different weights: each endpoint's weight becomes `weight / (active + 1)^bias` at pick time.
 * Envoy schedules those dynamic weights with EDF; Weft draws from them at random, which gives
 * the same expected shares without keeping a schedule that the counts invalidate on every pick.
 */
export class LeastRequestBalancer<E extends Endpoint> {
  readonly #endpoints: readonly E[]
  readonly #weights: Float64Array
  readonly #weighted: boolean
  readonly #choiceCount: number
  readonly #bias: number

  constructor(endpoints: readonly E[], options: LeastRequestOptions = {}) {
    this.#endpoints = endpoints
    this.#choiceCount = checkInteger('choiceCount', options.choiceCount ?? 2, 2)
    this.#bias = checkNumber('activeRequestBias', options.activeRequestBias ?? 1, 0)
    this.#weighted = !hasEqualWeights(endpoints)
    this.#weights = new Float64Array(endpoints.length)
    for (let i = 0; i < endpoints.length; i++) this.#weights[i] = endpointWeight(endpoints[i] as E)
  }

  /**
   * `activeRequests[i]` is the number of requests in flight to `endpoints[i]`, kept by the
   * caller (a typed array it increments and decrements needs no allocation here).
   */
  pick(activeRequests: ArrayLike<number>, random: () => number): E | undefined {
    const n = this.#endpoints.length
    if (n === 0) return undefined
    return this.#endpoints[
      this.#weighted ? this.#pickWeighted(activeRequests, random) : this.#pickP2c(activeRequests, random)
    ]
  }

  #pickP2c(active: ArrayLike<number>, random: () => number): number {
    const n = this.#endpoints.length
    let best = Math.floor(random() * n) % n
    for (let c = 1; c < this.#choiceCount; c++) {
      const candidate = Math.floor(random() * n) % n
      if ((active[candidate] ?? 0) < (active[best] ?? 0)) best = candidate
    }
    return best
  }

  #pickWeighted(active: ArrayLike<number>, random: () => number): number {
    const n = this.#endpoints.length
    let total = 0
    for (let i = 0; i < n; i++) total += this.#effectiveWeight(i, active)
    let target = random() * total
    for (let i = 0; i < n; i++) {
      target -= this.#effectiveWeight(i, active)
      if (target < 0) return i
    }
    return n - 1
  }

  #effectiveWeight(i: number, active: ArrayLike<number>): number {
    const w = this.#weights[i] as number
    if (this.#bias === 0) return w
    const a = (active[i] ?? 0) + 1
    return this.#bias === 1 ? w / a : w / a ** this.#bias
  }

  toJSON(): { policy: 'LEAST_REQUEST'; endpoints: number; choiceCount: number; activeRequestBias: number } {
    return {
      policy: 'LEAST_REQUEST',
      endpoints: this.#endpoints.length,
      choiceCount: this.#choiceCount,
      activeRequestBias: this.#bias,
    }
  }
}

export function createLeastRequest<E extends Endpoint>(
  endpoints: readonly E[],
  options?: LeastRequestOptions,
): LeastRequestBalancer<E> {
  return new LeastRequestBalancer(endpoints, options)
}
