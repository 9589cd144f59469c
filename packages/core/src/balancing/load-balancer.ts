import type { TrafficPolicy } from '@weft/config'
import type { Endpoint } from './endpoint.js'
import { LeastRequestBalancer } from './least-request.js'
import { Maglev } from './maglev.js'
import { RandomBalancer } from './random-balancer.js'
import { RingHash } from './ring-hash.js'
import { RoundRobinBalancer } from './round-robin.js'

export type LoadBalancerSettings = NonNullable<TrafficPolicy['loadBalancer']>

/** What one pick may need; each balancer reads only its part. */
export interface PickContext {
  readonly random: () => number
  /** The request's consistent-hash key, hashed (see `hashKey`); absent: a random point. */
  readonly hash?: number | undefined
  /** In-flight requests per endpoint index, for LEAST_REQUEST. */
  readonly activeRequests?: ArrayLike<number>
}

export type LoadBalancerPolicy =
  | 'ROUND_ROBIN'
  | 'LEAST_REQUEST'
  | 'RANDOM'
  | 'RING_HASH'
  | 'MAGLEV'
  | 'PASSTHROUGH'

/** One shape over every balancer, so the client asks all of them the same way. */
export interface LoadBalancer<E extends Endpoint> {
  readonly policy: LoadBalancerPolicy
  readonly endpoints: readonly E[]
  /** Undefined when there is no endpoint, or for PASSTHROUGH: dial the host as addressed. */
  pick(ctx: PickContext): E | undefined
}

const NO_ACTIVE: ArrayLike<number> = Object.freeze([])

/**
 * The balancer a DestinationRule's `loadBalancer` asks for. Unset (or `UNSPECIFIED`) is
 * LEAST_REQUEST, Istio's default since 1.14; `LEAST_CONN` is its deprecated name. Consistent
 * hashing uses Maglev when `maglev` is set and a ring hash otherwise, as Istio translates it;
 * a request with no hash key lands on a random point, as in Envoy.
 */
export function createLoadBalancer<E extends Endpoint>(
  settings: LoadBalancerSettings | undefined,
  endpoints: readonly E[],
  random: () => number,
): LoadBalancer<E> {
  const hash = settings?.consistentHash
  if (hash) {
    const balancer = hash.maglev
      ? new Maglev(endpoints, hash.maglev.tableSize ? { tableSize: hash.maglev.tableSize } : {})
      : new RingHash(endpoints, {
          minimumRingSize: hash.ringHash?.minimumRingSize ?? hash.minimumRingSize ?? 1024,
        })
    return {
      policy: hash.maglev ? 'MAGLEV' : 'RING_HASH',
      endpoints,
      pick: (ctx) => balancer.pick(ctx.hash ?? Math.floor(ctx.random() * 0x1_0000_0000)),
    }
  }
  switch (settings?.simple) {
    case 'ROUND_ROBIN': {
      // Envoy starts each worker's rotation at a random place so that clients do not move in step.
      const balancer = new RoundRobinBalancer(endpoints, {
        startOffset: Math.floor(random() * Math.max(endpoints.length, 1)),
      })
      return { policy: 'ROUND_ROBIN', endpoints, pick: () => balancer.pick() }
    }
    case 'RANDOM': {
      const balancer = new RandomBalancer(endpoints)
      return { policy: 'RANDOM', endpoints, pick: (ctx) => balancer.pick(ctx.random) }
    }
    case 'PASSTHROUGH':
      return { policy: 'PASSTHROUGH', endpoints, pick: () => undefined }
    default: {
      const balancer = new LeastRequestBalancer(endpoints)
      return {
        policy: 'LEAST_REQUEST',
        endpoints,
        pick: (ctx) => balancer.pick(ctx.activeRequests ?? NO_ACTIVE, ctx.random),
      }
    }
  }
}
