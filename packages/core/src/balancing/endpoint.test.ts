import { describe, expect, it } from 'vitest'
import { endpointKey, endpointWeight, hasEqualWeights, orderByKey } from './endpoint.js'

describe('endpoint identity and weight', () => {
  const keys: { name: string; address: string; port: number; expected: string }[] = [
    {
      name: 'Envoy: an IPv4 host is keyed address:port',
      address: '10.0.0.1',
      port: 9080,
      expected: '10.0.0.1:9080',
    },
    {
      name: 'Envoy: an IPv6 host is keyed [address]:port',
      address: 'fd00::1',
      port: 80,
      expected: '[fd00::1]:80',
    },
    {
      name: 'Envoy: a DNS host is keyed name:port',
      address: 'ratings.default',
      port: 9080,
      expected: 'ratings.default:9080',
    },
  ]
  for (const c of keys) {
    it(c.name, () => expect(endpointKey({ address: c.address, port: c.port })).toBe(c.expected))
  }

  const weights: { name: string; weight: number | undefined; expected: number }[] = [
    { name: 'Istio: an unset endpoint weight counts as 1', weight: undefined, expected: 1 },
    { name: 'Istio: an endpoint weight of 0 is sent to Envoy as 1', weight: 0, expected: 1 },
    { name: 'Istio: an endpoint weight is relative', weight: 5, expected: 5 },
    { name: 'Weft: a negative endpoint weight counts as 1', weight: -3, expected: 1 },
  ]
  for (const c of weights) {
    it(c.name, () =>
      expect(endpointWeight(c.weight === undefined ? {} : { weight: c.weight })).toBe(c.expected),
    )
  }

  it('Envoy: unset and explicit weight 1 are equal weights (O(1) balancer paths)', () => {
    expect(hasEqualWeights([{}, { weight: 1 }, { weight: 0 }])).toBe(true)
    expect(hasEqualWeights([{ weight: 2 }, { weight: 1 }])).toBe(false)
  })

  it('Weft: consistent hashing orders endpoints by key, whatever order they came in', () => {
    const a = { address: '10.0.0.2', port: 80 }
    const b = { address: '10.0.0.1', port: 80 }
    expect(orderByKey([a, b])).toEqual({ endpoints: [b, a], keys: ['10.0.0.1:80', '10.0.0.2:80'] })
  })
})
