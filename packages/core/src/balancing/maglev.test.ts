import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../errors.js'
import { keyMovement, tenEndpoints } from '../test-support/key-movement.js'
import { countPicks } from '../test-support/seeded-random.js'
import type { Endpoint } from './endpoint.js'
import { hashKey } from './hash-key.js'
import { createMaglev } from './maglev.js'

function endpoints(...weights: (number | undefined)[]): Endpoint[] {
  return weights.map((weight, i) => ({
    address: `10.3.0.${i + 1}`,
    port: 80,
    ...(weight === undefined ? {} : { weight }),
  }))
}

/** Slots each endpoint owns, found by asking for every hash 0 … size-1. */
function slotCounts(list: Endpoint[], tableSize: number): number[] {
  const maglev = createMaglev(list, { tableSize })
  let slot = 0
  return countPicks(list.length, tableSize, () => list.indexOf(maglev.pick(slot++) as Endpoint))
}

describe('maglev', () => {
  it('Envoy: the default table size is 65537', () => {
    expect(createMaglev(endpoints(1, 1)).tableSize).toBe(65_537)
  })

  const shares: { name: string; weights: number[]; tableSize: number; expected: number[] }[] = [
    {
      name: 'Maglev: a small prime table is filled in turns (7 slots, 3 hosts: 3/2/2)',
      weights: [1, 1, 1],
      tableSize: 7,
      expected: [3, 2, 2],
    },
    {
      name: 'Maglev: equal hosts own slots within one of each other',
      weights: [1, 1, 1],
      tableSize: 65_537,
      expected: [21_846, 21_846, 21_845],
    },
    {
      name: 'Envoy weighted maglev: weights 2:1 take turns 2:1',
      weights: [2, 1],
      tableSize: 65_537,
      expected: [43_691, 21_846],
    },
    {
      name: 'Envoy weighted maglev: weights 3:1 take turns 3:1',
      weights: [3, 1],
      tableSize: 251,
      expected: [188, 63],
    },
    { name: 'Maglev: a single host owns every slot', weights: [5], tableSize: 13, expected: [13] },
  ]
  for (const c of shares) {
    it(c.name, () => expect(slotCounts(endpoints(...c.weights), c.tableSize)).toEqual(c.expected))
  }

  it('Envoy: the same key always reaches the same host', () => {
    const a = createMaglev(endpoints(1, 1, 1))
    const b = createMaglev(endpoints(1, 1, 1))
    for (let k = 0; k < 500; k++) expect(a.pick(hashKey(`k${k}`))).toStrictEqual(b.pick(hashKey(`k${k}`)))
  })

  it('Weft: clients listing endpoints in another order build the same table', () => {
    const list = endpoints(1, 1, 2, 1)
    const a = createMaglev(list)
    const b = createMaglev([...list].reverse())
    for (let k = 0; k < 1000; k++) expect(b.pick(hashKey(`k${k}`))).toBe(a.pick(hashKey(`k${k}`)))
  })

  it('Envoy: no hosts, no pick', () => expect(createMaglev([]).pick(42)).toBeUndefined())

  const invalid: { name: string; tableSize: number }[] = [
    { name: 'Envoy: a table size that is not prime is refused', tableSize: 65_536 },
    { name: 'Envoy: a table size above 5000011 is refused', tableSize: 5_000_101 },
    { name: 'Envoy: a table size of 1 is refused', tableSize: 1 },
  ]
  for (const c of invalid) {
    it(c.name, () =>
      expect(() => createMaglev(endpoints(1), { tableSize: c.tableSize })).toThrow(InvalidOptionError),
    )
  }

  it('Weft: a balancer describes itself for weft dump', () => {
    expect(createMaglev(endpoints(1), { tableSize: 7 }).toJSON()).toEqual({
      policy: 'MAGLEV',
      endpoints: 1,
      tableSize: 7,
    })
  })
})

describe('maglev: consistency when one of N = 10 endpoints leaves (10,000 keys)', () => {
  for (const removeAt of [0, 4, 9]) {
    it(`Maglev minimal disruption: removing endpoint ${removeAt} moves about 1/N of keys, and keys elsewhere mostly stay`, () => {
      const m = keyMovement(tenEndpoints(), removeAt, (list) => createMaglev(list), 10_000)
      expect(m.moved).toBeGreaterThanOrEqual(0.5 / 10)
      expect(m.moved).toBeLessThanOrEqual(2 / 10)
      expect(m.moved).toBeGreaterThanOrEqual(m.removedShare)
      expect(m.bystandersMoved).toBeLessThan(0.05)
    })
  }
})
