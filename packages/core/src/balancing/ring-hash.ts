import { InvalidOptionError } from '../errors.js'
import { checkInteger } from '../option-checks.js'
import { type Endpoint, endpointWeight, orderByKey } from './endpoint.js'
import { hashKey } from './hash-key.js'

export interface RingHashOptions {
  /** Envoy's `minimum_ring_size` (Istio's `ringHash.minimumRingSize`). Default 1024. */
  readonly minimumRingSize?: number
  /** Envoy's `maximum_ring_size`. Default and limit 8M entries. */
  readonly maximumRingSize?: number
}

const RING_SIZE_LIMIT = 8 * 1024 * 1024

/**
 * Envoy's RING_HASH (ketama): every endpoint is hashed onto a ring at `address:port_i` for
 * i = 0, 1, … in proportion to its weight, and a request hash goes to the first ring entry at
 * or after it, wrapping at the top. The ring is scaled as Envoy scales it, so that the lightest
 * endpoint gets at least `minimumRingSize × its share` entries. Endpoints are laid out in key
 * order, so clients that list the same endpoints in another order build the same ring.
 */
export class RingHash<E extends Endpoint> {
  readonly #endpoints: readonly E[]
  readonly #hashes: Uint32Array
  readonly #owners: Int32Array

  constructor(endpoints: readonly E[], options: RingHashOptions = {}) {
    const minimum = checkInteger('minimumRingSize', options.minimumRingSize ?? 1024, 1, RING_SIZE_LIMIT)
    const maximum = checkInteger(
      'maximumRingSize',
      options.maximumRingSize ?? RING_SIZE_LIMIT,
      1,
      RING_SIZE_LIMIT,
    )
    if (minimum > maximum) {
      throw new InvalidOptionError('minimumRingSize', `at most maximumRingSize (${maximum})`, minimum)
    }
    const ordered = orderByKey(endpoints)
    this.#endpoints = ordered.endpoints

    let sum = 0
    for (const e of this.#endpoints) sum += endpointWeight(e)
    let minShare = 1
    for (const e of this.#endpoints) minShare = Math.min(minShare, endpointWeight(e) / sum)
    const scale =
      this.#endpoints.length === 0 ? 0 : Math.min(Math.ceil(minShare * minimum) / minShare, maximum)

    const hashes: number[] = []
    const owners: number[] = []
    let placed = 0
    let target = 0
    this.#endpoints.forEach((e, owner) => {
      const key = ordered.keys[owner] as string
      target += (scale * endpointWeight(e)) / sum
      for (let i = 0; placed < target; i++, placed++) {
        hashes.push(hashKey(`${key}_${i}`))
        owners.push(owner)
      }
    })
    const byHash = hashes
      .map((_, i) => i)
      .sort((a, b) => (hashes[a] as number) - (hashes[b] as number) || a - b)
    this.#hashes = Uint32Array.from(byHash, (i) => hashes[i] as number)
    this.#owners = Int32Array.from(byHash, (i) => owners[i] as number)
  }

  /** Number of entries on the ring. */
  get size(): number {
    return this.#hashes.length
  }

  /** The endpoint owning `hash` (an unsigned 32-bit value, e.g. from `hashKey`). */
  pick(hash: number): E | undefined {
    const hashes = this.#hashes
    if (hashes.length === 0) return undefined
    const h = hash >>> 0
    let lo = 0
    let hi = hashes.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((hashes[mid] as number) < h) lo = mid + 1
      else hi = mid
    }
    return this.#endpoints[this.#owners[lo === hashes.length ? 0 : lo] as number]
  }

  toJSON(): { policy: 'RING_HASH'; endpoints: number; ringSize: number } {
    return { policy: 'RING_HASH', endpoints: this.#endpoints.length, ringSize: this.#hashes.length }
  }
}

export function createRingHash<E extends Endpoint>(
  endpoints: readonly E[],
  options?: RingHashOptions,
): RingHash<E> {
  return new RingHash(endpoints, options)
}
