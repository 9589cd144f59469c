import type { Endpoint } from './endpoint.js'

/**
 * Envoy's RANDOM: one endpoint uniformly at random. Like Envoy's, it does not weigh endpoints
 * (locality weights are applied before it); a failed endpoint does not skew its neighbour as it
 * would in a rotation.
 */
export class RandomBalancer<E extends Endpoint> {
  readonly #endpoints: readonly E[]

  constructor(endpoints: readonly E[]) {
    this.#endpoints = endpoints
  }

  pick(random: () => number): E | undefined {
    const n = this.#endpoints.length
    if (n === 0) return undefined
    return this.#endpoints[Math.floor(random() * n) % n]
  }

  toJSON(): { policy: 'RANDOM'; endpoints: number } {
    return { policy: 'RANDOM', endpoints: this.#endpoints.length }
  }
}

export function createRandomBalancer<E extends Endpoint>(endpoints: readonly E[]): RandomBalancer<E> {
  return new RandomBalancer(endpoints)
}
