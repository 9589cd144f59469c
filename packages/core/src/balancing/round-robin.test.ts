import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../errors.js'
import { countPicks } from '../test-support/seeded-random.js'
import type { Endpoint } from './endpoint.js'
import { createRoundRobin } from './round-robin.js'

function endpoints(...weights: (number | undefined)[]): Endpoint[] {
  return weights.map((weight, i) => ({
    address: `10.0.0.${i + 1}`,
    port: 80,
    ...(weight === undefined ? {} : { weight }),
  }))
}

function indices(list: readonly Endpoint[], picks: (Endpoint | undefined)[]): number[] {
  return picks.map((p) => list.indexOf(p as Endpoint))
}

describe('round robin', () => {
  const rotations: {
    name: string
    weights: (number | undefined)[]
    startOffset?: number
    expected: number[]
  }[] = [
    {
      name: 'Envoy: equal weights rotate in order',
      weights: [undefined, undefined, undefined],
      expected: [0, 1, 2, 0, 1, 2],
    },
    {
      name: 'Envoy: a start offset spreads clients over the rotation',
      weights: [1, 1, 1],
      startOffset: 1,
      expected: [1, 2, 0, 1],
    },
    { name: 'Envoy: a start offset wraps around', weights: [1, 1], startOffset: 5, expected: [1, 0, 1] },
    {
      name: 'Istio: endpoint weights of 0 are weight 1, a plain rotation',
      weights: [0, 0],
      expected: [0, 1, 0, 1],
    },
    {
      name: 'Envoy EDF: weights 2:1:1 give the heavy endpoint two turns in four, ties in insertion order',
      weights: [2, 1, 1],
      expected: [0, 1, 2, 0, 0, 1, 2, 0],
    },
    {
      name: 'Envoy EDF: weights 3:1 give three turns in four',
      weights: [3, 1],
      expected: [0, 0, 1, 0, 0, 0, 1, 0],
    },
    {
      name: 'Envoy EDF: a start offset skips picks of the weighted schedule',
      weights: [3, 1],
      startOffset: 2,
      expected: [1, 0, 0, 0, 1, 0],
    },
  ]
  for (const c of rotations) {
    it(c.name, () => {
      const list = endpoints(...c.weights)
      const rr = createRoundRobin(list, c.startOffset === undefined ? {} : { startOffset: c.startOffset })
      expect(
        indices(
          list,
          c.expected.map(() => rr.pick()),
        ),
      ).toEqual(c.expected)
    })
  }

  const shares: { name: string; weights: number[]; picks: number }[] = [
    { name: 'Envoy EDF: 3:1 holds its share over a long run', weights: [3, 1], picks: 4000 },
    { name: 'Envoy EDF: 5:3:2 holds its share over a long run', weights: [5, 3, 2], picks: 10_000 },
    { name: 'Envoy EDF: 100:1 still serves the light endpoint', weights: [100, 1], picks: 10_100 },
  ]
  for (const c of shares) {
    it(c.name, () => {
      const list = endpoints(...c.weights)
      const rr = createRoundRobin(list)
      const counts = countPicks(list.length, c.picks, () => list.indexOf(rr.pick() as Endpoint))
      const total = c.weights.reduce((a, b) => a + b, 0)
      c.weights.forEach((w, i) => {
        expect(Math.abs((counts[i] as number) - (c.picks * w) / total)).toBeLessThanOrEqual(1)
      })
    })
  }

  it('Envoy: no endpoints, no pick', () => expect(createRoundRobin([]).pick()).toBeUndefined())

  it('Weft: a balancer describes itself for weft dump', () => {
    expect(createRoundRobin(endpoints(2, 1)).toJSON()).toEqual({
      policy: 'ROUND_ROBIN',
      endpoints: 2,
      weighted: true,
    })
  })

  it('Weft: a negative start offset is refused', () => {
    expect(() => createRoundRobin(endpoints(1), { startOffset: -1 })).toThrow(InvalidOptionError)
  })
})
