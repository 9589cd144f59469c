import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../test-support/seeded-random.js'
import { hashKey } from './hash-key.js'
import { consistentHashKey } from './hash-policy.js'
import { createLoadBalancer } from './load-balancer.js'

const endpoints = [0, 1, 2, 3].map((i) => ({ address: `10.0.0.${i}`, port: 8080 }))

describe('createLoadBalancer (DestinationRule loadBalancer → balancer)', () => {
  const policies: [name: string, settings: Parameters<typeof createLoadBalancer>[0], want: string][] = [
    ["Istio: unset is LEAST_REQUEST, Istio's default since 1.14", undefined, 'LEAST_REQUEST'],
    ['Istio: UNSPECIFIED is the default too', { simple: 'UNSPECIFIED' }, 'LEAST_REQUEST'],
    ['Istio: LEAST_CONN is the deprecated name of LEAST_REQUEST', { simple: 'LEAST_CONN' }, 'LEAST_REQUEST'],
    ['Istio: ROUND_ROBIN', { simple: 'ROUND_ROBIN' }, 'ROUND_ROBIN'],
    ['Istio: RANDOM', { simple: 'RANDOM' }, 'RANDOM'],
    ['Istio: PASSTHROUGH', { simple: 'PASSTHROUGH' }, 'PASSTHROUGH'],
    [
      'Istio: consistentHash without maglev is a ring hash',
      { consistentHash: { httpHeaderName: 'x-user' } },
      'RING_HASH',
    ],
    [
      'Istio: consistentHash.ringHash',
      { consistentHash: { httpHeaderName: 'x-user', ringHash: { minimumRingSize: 64 } } },
      'RING_HASH',
    ],
    [
      'Istio: consistentHash.maglev',
      { consistentHash: { httpHeaderName: 'x-user', maglev: { tableSize: 251 } } },
      'MAGLEV',
    ],
  ]
  for (const [name, settings, want] of policies) {
    it(name, () => expect(createLoadBalancer(settings, endpoints, () => 0).policy).toBe(want))
  }

  it('Istio: PASSTHROUGH picks no endpoint: the caller dials the host it addressed', () => {
    expect(
      createLoadBalancer({ simple: 'PASSTHROUGH' }, endpoints, () => 0).pick({ random: () => 0 }),
    ).toBeUndefined()
  })

  it('Envoy: the same hash key always reaches the same endpoint', () => {
    const lb = createLoadBalancer(
      { consistentHash: { httpHeaderName: 'x-user', maglev: { tableSize: 251 } } },
      endpoints,
      () => 0,
    )
    const first = lb.pick({ random: Math.random, hash: hashKey('jason') })
    for (let i = 0; i < 20; i++) expect(lb.pick({ random: Math.random, hash: hashKey('jason') })).toBe(first)
  })

  it('Envoy: with no hash key a consistent-hash balancer spreads requests at random', () => {
    const lb = createLoadBalancer({ consistentHash: { httpHeaderName: 'x-user' } }, endpoints, () => 0)
    const random = mulberry32(7)
    const seen = new Set(Array.from({ length: 200 }, () => lb.pick({ random })))
    expect(seen.size).toBe(4)
  })

  it('Envoy: LEAST_REQUEST prefers the endpoint with fewer requests in flight', () => {
    const lb = createLoadBalancer(undefined, endpoints.slice(0, 2), () => 0)
    const draws = [0.1, 0.9]
    let i = 0
    expect(lb.pick({ random: () => draws[i++ % 2] as number, activeRequests: [5, 1] })).toBe(endpoints[1])
  })

  it('Envoy: ROUND_ROBIN starts at a random place, then rotates', () => {
    const lb = createLoadBalancer({ simple: 'ROUND_ROBIN' }, endpoints, () => 0.5)
    expect([0, 1, 2, 3].map(() => lb.pick({ random: () => 0 })?.address)).toEqual([
      '10.0.0.2',
      '10.0.0.3',
      '10.0.0.0',
      '10.0.0.1',
    ])
  })
})

describe('consistentHashKey (Istio consistentHash → Envoy hash policy)', () => {
  const input = {
    header: (n: string) => ({ 'x-user': 'jason' })[n],
    cookie: (n: string) => ({ session: 'abc' })[n],
    query: (n: string) => ({ shard: '7' })[n],
    sourceIp: '10.1.2.3',
  }
  const cases: [name: string, hash: Parameters<typeof consistentHashKey>[0], want: object][] = [
    [
      'Istio: httpHeaderName hashes the header (names are case-blind)',
      { httpHeaderName: 'X-User' },
      { key: 'jason' },
    ],
    ['Istio: a missing header gives no key', { httpHeaderName: 'x-other' }, {}],
    ['Istio: httpQueryParameterName', { httpQueryParameterName: 'shard' }, { key: '7' }],
    ['Istio: useSourceIp', { useSourceIp: true }, { key: '10.1.2.3' }],
    ['Istio: httpCookie present', { httpCookie: { name: 'session', ttl: '0s' } }, { key: 'abc' }],
    [
      'Envoy: a missing cookie without a TTL is not generated',
      { httpCookie: { name: 'other', ttl: '0s' } },
      {},
    ],
  ]
  for (const [name, hash, want] of cases)
    it(name, () => expect(consistentHashKey(hash, input, () => 0.5)).toEqual(want))

  it('Envoy: a missing cookie with a TTL is generated, to be set on the response', () => {
    const decision = consistentHashKey(
      { httpCookie: { name: 'affinity', path: '/', ttl: '1h' } },
      input,
      () => 0.5,
    )
    expect(decision).toEqual({
      key: '8000000080000000',
      setCookie: { name: 'affinity', value: '8000000080000000', path: '/', ttlSeconds: 3600 },
    })
  })
})
