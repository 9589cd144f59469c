import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../errors.js'
import { keyMovement, tenEndpoints } from '../test-support/key-movement.js'
import type { Endpoint } from './endpoint.js'
import { hashKey } from './hash-key.js'
import { createRingHash, type RingHashOptions } from './ring-hash.js'

function endpoints(...weights: (number | undefined)[]): Endpoint[] {
  return weights.map((weight, i) => ({
    address: `10.2.0.${i + 1}`,
    port: 80,
    ...(weight === undefined ? {} : { weight }),
  }))
}

describe('ring hash', () => {
  const sizes: { name: string; weights: (number | undefined)[]; options?: RingHashOptions; size: number }[] =
    [
      {
        name: 'Envoy: the ring has at least minimum_ring_size (1024) entries, scaled to whole shares (3 hosts: 1026)',
        weights: [undefined, undefined, undefined],
        size: 1026,
      },
      { name: 'Envoy: 10 equal hosts get 103 entries each (1030)', weights: Array(10).fill(1), size: 1030 },
      { name: 'Envoy: weights 1:3 get 256 and 768 entries', weights: [1, 3], size: 1024 },
      {
        name: 'Istio: ringHash.minimumRingSize sets the smallest ring',
        weights: [1, 1],
        options: { minimumRingSize: 100 },
        size: 100,
      },
      {
        name: 'Envoy: with more hosts than minimum_ring_size each host gets one entry',
        weights: Array(10).fill(1),
        options: { minimumRingSize: 4 },
        size: 10,
      },
      {
        name: 'Envoy: maximum_ring_size caps the ring',
        weights: [1, 1000],
        options: { minimumRingSize: 16, maximumRingSize: 64 },
        size: 64,
      },
      { name: 'Envoy: no hosts, an empty ring', weights: [], size: 0 },
    ]
  for (const c of sizes) {
    it(c.name, () => expect(createRingHash(endpoints(...c.weights), c.options).size).toBe(c.size))
  }

  it('Envoy: a request hash maps to the first ring entry at or after it, wrapping at the top', () => {
    const list = endpoints(1, 1, 1)
    const ring = createRingHash(list)
    expect(ring.pick(0xffffffff)).toBe(ring.pick(0))
    for (let h = 0; h < 0xffffffff; h += 0x0fffffff) expect(list).toContain(ring.pick(h))
  })

  it('Envoy: the same key always reaches the same host (session affinity)', () => {
    const ring = createRingHash(endpoints(1, 1, 1, 1))
    const again = createRingHash(endpoints(1, 1, 1, 1))
    for (let k = 0; k < 500; k++)
      expect(ring.pick(hashKey(`k${k}`))).toStrictEqual(again.pick(hashKey(`k${k}`)))
  })

  it('Weft: clients listing endpoints in another order build the same ring', () => {
    const list = endpoints(1, 2, 3, 4)
    const ring = createRingHash(list)
    const reversed = createRingHash([...list].reverse())
    for (let k = 0; k < 1000; k++) expect(reversed.pick(hashKey(`k${k}`))).toBe(ring.pick(hashKey(`k${k}`)))
  })

  it('Envoy: traffic shares follow ring shares (1:3)', () => {
    const list = endpoints(1, 3)
    const ring = createRingHash(list)
    let heavy = 0
    for (let k = 0; k < 10_000; k++) if (ring.pick(hashKey(`user-${k}`)) === list[1]) heavy++
    expect(heavy / 10_000).toBeGreaterThan(0.65)
    expect(heavy / 10_000).toBeLessThan(0.85)
  })

  it('Envoy: no hosts, no pick', () => expect(createRingHash([]).pick(123)).toBeUndefined())

  const invalid: { name: string; options: RingHashOptions }[] = [
    {
      name: 'Envoy: minimum_ring_size above 8M is refused',
      options: { minimumRingSize: 8 * 1024 * 1024 + 1 },
    },
    { name: 'Envoy: minimum_ring_size 0 is refused', options: { minimumRingSize: 0 } },
    {
      name: 'Envoy: minimum above maximum ring size is refused',
      options: { minimumRingSize: 2048, maximumRingSize: 1024 },
    },
  ]
  for (const c of invalid) {
    it(c.name, () => expect(() => createRingHash(endpoints(1), c.options)).toThrow(InvalidOptionError))
  }

  it('Weft: a balancer describes itself for weft dump', () => {
    expect(createRingHash(endpoints(1, 1, 1)).toJSON()).toEqual({
      policy: 'RING_HASH',
      endpoints: 3,
      ringSize: 1026,
    })
  })
})

describe('ring hash: consistency when one of N = 10 endpoints leaves (10,000 keys)', () => {
  for (const removeAt of [0, 4, 9]) {
    it(`Envoy ketama: removing endpoint ${removeAt} moves about 1/N of keys; keys elsewhere mostly stay (Envoy rescales the ring)`, () => {
      const m = keyMovement(tenEndpoints(), removeAt, (list) => createRingHash(list), 10_000)
      expect(m.moved).toBeGreaterThanOrEqual(0.5 / 10)
      expect(m.moved).toBeLessThanOrEqual(2 / 10)
      expect(m.moved).toBeGreaterThanOrEqual(m.removedShare)
      expect(m.bystandersMoved).toBeLessThan(0.1)
    })
  }
})
