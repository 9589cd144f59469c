import { InvalidOptionError } from '../errors.js'

/**
 * The index of the first cumulative sum strictly above `target`: the item a draw of `target`
 * lands on. Zero-weight items share their predecessor's sum, so they are never first.
 */
export function indexAbove(cumulative: ArrayLike<number>, target: number): number {
  let lo = 0
  let hi = cumulative.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((cumulative[mid] as number) > target) hi = mid
    else lo = mid + 1
  }
  return lo
}

/**
 * A weighted choice among items (VirtualService destinations, mirrors), compiled once: weights
 * are relative and prefixed into cumulative sums, and a pick is one `random()` and a binary
 * search. An item of weight 0 is never picked, as Istio sends no traffic to a 0-weight
 * destination.
 */
export class WeightedPick<T> {
  readonly #items: readonly T[]
  readonly #cumulative: Float64Array
  readonly #total: number
  readonly #lastPickable: number

  constructor(items: readonly T[], weights: readonly number[]) {
    if (weights.length !== items.length) {
      throw new InvalidOptionError('weights', `one weight per item (${items.length})`, weights.length)
    }
    this.#items = items
    this.#cumulative = new Float64Array(items.length)
    let total = 0
    let lastPickable = -1
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i] as number
      if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
        throw new InvalidOptionError(`weights[${i}]`, 'a finite number >= 0', w)
      }
      total += w
      this.#cumulative[i] = total
      if (w > 0) lastPickable = i
    }
    this.#total = total
    this.#lastPickable = lastPickable
  }

  get totalWeight(): number {
    return this.#total
  }

  /** Index of the picked item, or -1 when no item has weight. */
  pickIndex(random: () => number): number {
    if (this.#lastPickable < 0) return -1
    const target = random() * this.#total
    const cumulative = this.#cumulative
    const lo = indexAbove(cumulative, target)
    // A random() of exactly 1 (or float rounding at the top) would fall past the end.
    return (cumulative[lo] as number) > target ? lo : this.#lastPickable
  }

  pick(random: () => number): T | undefined {
    const i = this.pickIndex(random)
    return i < 0 ? undefined : this.#items[i]
  }

  toJSON(): { weights: number[]; totalWeight: number } {
    const weights: number[] = []
    let previous = 0
    for (const c of this.#cumulative) {
      weights.push(c - previous)
      previous = c
    }
    return { weights, totalWeight: this.#total }
  }
}

export function createWeightedPick<T>(
  items: readonly T[],
  weightOf: (item: T, index: number) => number,
): WeightedPick<T> {
  return new WeightedPick(items, items.map(weightOf))
}
