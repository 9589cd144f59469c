import type { Endpoint } from '../balancing/endpoint.js'
import { hashKey } from '../balancing/hash-key.js'

export interface Movement {
  /** Share of all keys whose endpoint changed. */
  readonly moved: number
  /** Share of keys that were not on the removed endpoint and still changed endpoint. */
  readonly bystandersMoved: number
  /** Share of keys the removed endpoint held. */
  readonly removedShare: number
}

/**
 * Hashes `keys` user keys through a picker built over `endpoints`, then over `endpoints` minus
 * the one at `removeAt`, and reports how many keys moved.
 */
export function keyMovement(
  endpoints: readonly Endpoint[],
  removeAt: number,
  build: (endpoints: readonly Endpoint[]) => { pick(hash: number): Endpoint | undefined },
  keys: number,
): Movement {
  const before = build(endpoints)
  const removed = endpoints[removeAt]
  const after = build(endpoints.filter((_, i) => i !== removeAt))
  let moved = 0
  let onRemoved = 0
  let bystanders = 0
  for (let k = 0; k < keys; k++) {
    const hash = hashKey(`user-${k}`)
    const a = before.pick(hash)
    const b = after.pick(hash)
    if (a === removed) onRemoved++
    if (a !== b) {
      moved++
      if (a !== removed) bystanders++
    }
  }
  return {
    moved: moved / keys,
    bystandersMoved: bystanders / (keys - onRemoved),
    removedShare: onRemoved / keys,
  }
}

export function tenEndpoints(): Endpoint[] {
  return Array.from({ length: 10 }, (_, i) => ({ address: `10.1.0.${i + 1}`, port: 9080 }))
}
