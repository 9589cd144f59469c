import { checkInteger } from '../option-checks.js'
import { type Endpoint, endpointWeight, hasEqualWeights } from './endpoint.js'

export interface RoundRobinOptions {
  /**
   * Picks to skip before the first one. Envoy starts each worker at a random offset so that
   * clients do not all open with the same endpoint; pass `Math.floor(random() * n)` for that.
   */
  readonly startOffset?: number
}

/**
 * Envoy's ROUND_ROBIN: plain rotation when all weights are equal, otherwise an earliest-deadline-
 * first schedule (Envoy's EdfScheduler) in which an endpoint of weight w is due every 1/w, so
 * heavier endpoints appear proportionally more often and are spread through the rotation.
 */
export class RoundRobinBalancer<E extends Endpoint> {
  readonly #endpoints: readonly E[]
  readonly #weighted: boolean
  #next = 0
  // EDF state, used only when weights differ: a binary min-heap of endpoint indices ordered by
  // (deadline, sequence), the sequence breaking ties in insertion order as Envoy does.
  readonly #heap: Int32Array
  readonly #deadline: Float64Array
  readonly #sequence: Float64Array
  readonly #weight: Float64Array
  readonly #picks: Float64Array
  #nextSequence = 0

  constructor(endpoints: readonly E[], options: RoundRobinOptions = {}) {
    const startOffset = checkInteger('startOffset', options.startOffset ?? 0, 0)
    this.#endpoints = endpoints
    const n = endpoints.length
    this.#weighted = !hasEqualWeights(endpoints)
    const heapSize = this.#weighted ? n : 0
    this.#heap = new Int32Array(heapSize)
    this.#deadline = new Float64Array(heapSize)
    this.#sequence = new Float64Array(heapSize)
    this.#weight = new Float64Array(heapSize)
    this.#picks = new Float64Array(heapSize)
    if (this.#weighted) {
      for (let i = 0; i < n; i++) {
        this.#weight[i] = endpointWeight(endpoints[i] as E)
        this.#deadline[i] = 1 / (this.#weight[i] as number)
        this.#sequence[i] = this.#nextSequence++
        this.#heap[i] = i
      }
      for (let i = (n >>> 1) - 1; i >= 0; i--) this.#siftDown(i)
      for (let i = 0; i < startOffset; i++) this.#pickWeighted()
    } else if (n > 0) {
      this.#next = startOffset % n
    }
  }

  pick(): E | undefined {
    const n = this.#endpoints.length
    if (n === 0) return undefined
    if (this.#weighted) return this.#endpoints[this.#pickWeighted()]
    const i = this.#next
    this.#next = i + 1 === n ? 0 : i + 1
    return this.#endpoints[i]
  }

  #pickWeighted(): number {
    const top = this.#heap[0] as number
    // (picks + 1) / weight rather than a running sum of 1 / weight, which drifts and breaks ties.
    const picks = (this.#picks[top] as number) + 1
    this.#picks[top] = picks
    this.#deadline[top] = (picks + 1) / (this.#weight[top] as number)
    this.#sequence[top] = this.#nextSequence++
    this.#siftDown(0)
    return top
  }

  #before(a: number, b: number): boolean {
    const da = this.#deadline[a] as number
    const db = this.#deadline[b] as number
    return da < db || (da === db && (this.#sequence[a] as number) < (this.#sequence[b] as number))
  }

  #siftDown(start: number): void {
    const heap = this.#heap
    const n = heap.length
    let i = start
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) return
      const right = left + 1
      let child = left
      if (right < n && this.#before(heap[right] as number, heap[left] as number)) child = right
      if (!this.#before(heap[child] as number, heap[i] as number)) return
      const t = heap[i] as number
      heap[i] = heap[child] as number
      heap[child] = t
      i = child
    }
  }

  toJSON(): { policy: 'ROUND_ROBIN'; endpoints: number; weighted: boolean } {
    return { policy: 'ROUND_ROBIN', endpoints: this.#endpoints.length, weighted: this.#weighted }
  }
}

export function createRoundRobin<E extends Endpoint>(
  endpoints: readonly E[],
  options?: RoundRobinOptions,
): RoundRobinBalancer<E> {
  return new RoundRobinBalancer(endpoints, options)
}
