import { InvalidOptionError } from '../errors.js'
import { checkInteger } from '../option-checks.js'
import { type Endpoint, endpointWeight, orderByKey } from './endpoint.js'
import { hashKey } from './hash-key.js'

export interface MaglevOptions {
  /** Envoy's `table_size` (Istio's `maglev.tableSize`): a prime up to 5000011. Default 65537. */
  readonly tableSize?: number
}

const TABLE_SIZE_LIMIT = 5_000_011

function isPrime(n: number): boolean {
  if (n < 2) return false
  if (n % 2 === 0) return n === 2
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false
  return true
}

/**
 * Envoy's MAGLEV: a lookup table of `tableSize` slots filled by each endpoint walking its own
 * permutation (`offset + skip × j mod size`, from two hashes of `address:port`) and claiming the
 * next free slot in turn; a heavier endpoint takes a turn more often, as in Envoy's weighted
 * build. A pick is `table[hash mod size]`: constant time, and a change of endpoints moves about
 * the changed endpoint's share of keys.
 */
export class Maglev<E extends Endpoint> {
  readonly #endpoints: readonly E[]
  readonly #table: Int32Array

  constructor(endpoints: readonly E[], options: MaglevOptions = {}) {
    const size = checkInteger('tableSize', options.tableSize ?? 65_537, 2, TABLE_SIZE_LIMIT)
    if (!isPrime(size)) throw new InvalidOptionError('tableSize', 'a prime number', size)
    const ordered = orderByKey(endpoints)
    this.#endpoints = ordered.endpoints
    const n = ordered.endpoints.length
    this.#table = new Int32Array(n === 0 ? 0 : size).fill(-1)
    if (n === 0) return

    const offset = new Float64Array(n)
    const skip = new Float64Array(n)
    const next = new Float64Array(n)
    const weight = new Float64Array(n)
    const due = new Float64Array(n)
    let maxWeight = 0
    for (let i = 0; i < n; i++) {
      const key = ordered.keys[i] as string
      offset[i] = hashKey(key, 0) % size
      skip[i] = (hashKey(key, 1) % (size - 1)) + 1
      weight[i] = endpointWeight(ordered.endpoints[i] as E)
      maxWeight = Math.max(maxWeight, weight[i] as number)
    }
    const table = this.#table
    let filled = 0
    for (let round = 1; filled < size; round++) {
      for (let i = 0; i < n && filled < size; i++) {
        // An endpoint of the largest weight takes a slot every round; one of a third of it,
        // every third round.
        if (round * (weight[i] as number) < (due[i] as number)) continue
        due[i] = (due[i] as number) + maxWeight
        let slot = ((offset[i] as number) + (skip[i] as number) * (next[i] as number)) % size
        while ((table[slot] as number) !== -1) {
          next[i] = (next[i] as number) + 1
          slot = ((offset[i] as number) + (skip[i] as number) * (next[i] as number)) % size
        }
        table[slot] = i
        next[i] = (next[i] as number) + 1
        filled++
      }
    }
  }

  get tableSize(): number {
    return this.#table.length
  }

  /** The endpoint owning `hash` (an unsigned 32-bit value, e.g. from `hashKey`). */
  pick(hash: number): E | undefined {
    const table = this.#table
    if (table.length === 0) return undefined
    return this.#endpoints[table[(hash >>> 0) % table.length] as number]
  }

  toJSON(): { policy: 'MAGLEV'; endpoints: number; tableSize: number } {
    return { policy: 'MAGLEV', endpoints: this.#endpoints.length, tableSize: this.#table.length }
  }
}

export function createMaglev<E extends Endpoint>(
  endpoints: readonly E[],
  options?: MaglevOptions,
): Maglev<E> {
  return new Maglev(endpoints, options)
}
