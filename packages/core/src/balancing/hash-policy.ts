import { durationMs } from '../duration.js'
import type { LoadBalancerSettings } from './load-balancer.js'

type ConsistentHash = NonNullable<LoadBalancerSettings['consistentHash']>

/** The parts of a request a hash policy may read. */
export interface HashInput {
  header(name: string): string | undefined
  cookie(name: string): string | undefined
  query(name: string): string | undefined
  readonly sourceIp?: string | undefined
}

/** The key to hash, and the cookie to set when Envoy would generate one. */
export interface HashKeyDecision {
  readonly key?: string
  readonly setCookie?: {
    readonly name: string
    readonly value: string
    readonly path?: string
    readonly ttlSeconds: number
  }
}

const NONE: HashKeyDecision = Object.freeze({})

/**
 * Envoy's hash policy, as Istio's `consistentHash` configures it: a header, a query parameter,
 * the source IP, or a cookie. A missing cookie with a `ttl` is generated (and must be set on
 * the response, so the client's next request carries it), as Envoy does; with no key at all the
 * balancer picks a random point.
 */
export function consistentHashKey(
  hash: ConsistentHash,
  input: HashInput,
  random: () => number,
): HashKeyDecision {
  if (hash.httpHeaderName !== undefined) {
    const key = input.header(hash.httpHeaderName.toLowerCase())
    return key === undefined ? NONE : { key }
  }
  if (hash.httpQueryParameterName !== undefined) {
    const key = input.query(hash.httpQueryParameterName)
    return key === undefined ? NONE : { key }
  }
  if (hash.useSourceIp) return input.sourceIp === undefined ? NONE : { key: input.sourceIp }
  const cookie = hash.httpCookie
  if (cookie) {
    const present = input.cookie(cookie.name)
    if (present !== undefined) return { key: present }
    const ttlSeconds = (durationMs(cookie.ttl) ?? 0) / 1000
    if (ttlSeconds <= 0) return NONE
    const value =
      Math.floor(random() * 0x1_0000_0000)
        .toString(16)
        .padStart(8, '0') +
      Math.floor(random() * 0x1_0000_0000)
        .toString(16)
        .padStart(8, '0')
    return {
      key: value,
      setCookie: { name: cookie.name, value, ...(cookie.path ? { path: cookie.path } : {}), ttlSeconds },
    }
  }
  return NONE
}
