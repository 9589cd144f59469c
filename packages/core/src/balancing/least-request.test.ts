import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../errors.js'
import { mulberry32, sequence } from '../test-support/seeded-random.js'
import type { Endpoint } from './endpoint.js'
import { createLeastRequest, type LeastRequestOptions } from './least-request.js'

function endpoints(...weights: (number | undefined)[]): Endpoint[] {
  return weights.map((weight, i) => ({
    address: `10.0.1.${i + 1}`,
    port: 8080,
    ...(weight === undefined ? {} : { weight }),
  }))
}

describe('least request', () => {
  const cases: {
    name: string
    weights: (number | undefined)[]
    active: number[]
    draws: number[]
    options?: LeastRequestOptions
    expected: number
  }[] = [
    {
      name: 'Envoy P2C: of two random endpoints the one with fewer active requests wins',
      weights: [undefined, undefined, undefined],
      active: [5, 0, 0],
      draws: [0.0, 0.5],
      expected: 1,
    },
    {
      name: 'Envoy P2C: the first drawn wins a tie',
      weights: [1, 1, 1],
      active: [1, 1, 1],
      draws: [0.9, 0.1],
      expected: 2,
    },
    {
      name: 'Envoy P2C: draws are with replacement, so one endpoint may be compared with itself',
      weights: [1, 1],
      active: [9, 0],
      draws: [0.1, 0.2],
      expected: 0,
    },
    {
      name: 'Envoy: choice_count 3 compares three random endpoints',
      weights: [1, 1, 1],
      active: [3, 2, 1],
      draws: [0.0, 0.4, 0.9],
      options: { choiceCount: 3 },
      expected: 2,
    },
    {
      name: 'Weft: an active count the caller did not supply reads as 0',
      weights: [1, 1, 1],
      active: [4],
      draws: [0.0, 0.7],
      expected: 2,
    },
    {
      name: 'Envoy: different weights with no load follow the weights (2:1, low draw)',
      weights: [2, 1],
      active: [0, 0],
      draws: [0.66],
      expected: 0,
    },
    {
      name: 'Envoy: weight / (active + 1) lowers a busy heavy endpoint (2/4 against 1)',
      weights: [2, 1],
      active: [3, 0],
      draws: [0.34],
      expected: 1,
    },
    {
      name: 'Envoy: active_request_bias 0 ignores load, plain weighted choice',
      weights: [2, 1],
      active: [100, 0],
      draws: [0.5],
      options: { activeRequestBias: 0 },
      expected: 0,
    },
    {
      name: 'Envoy: active_request_bias 2 squares the penalty (2/4 against 1, draw below a third)',
      weights: [2, 1],
      active: [1, 0],
      draws: [0.3],
      options: { activeRequestBias: 2 },
      expected: 0,
    },
    {
      name: 'Envoy: active_request_bias 2 squares the penalty (2/4 against 1, draw above a third)',
      weights: [2, 1],
      active: [1, 0],
      draws: [0.34],
      options: { activeRequestBias: 2 },
      expected: 1,
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const list = endpoints(...c.weights)
      const lb = createLeastRequest(list, c.options)
      expect(list.indexOf(lb.pick(c.active, sequence(...c.draws)) as Endpoint)).toBe(c.expected)
    })
  }

  it('Envoy P2C: the busiest endpoint is chosen only when both draws land on it (1/16 of 4)', () => {
    const list = endpoints(1, 1, 1, 1)
    const lb = createLeastRequest(list)
    const random = mulberry32(3)
    let busiest = 0
    for (let i = 0; i < 100_000; i++) if (lb.pick([9, 1, 1, 1], random) === list[0]) busiest++
    expect(busiest / 100_000).toBeCloseTo(1 / 16, 2)
  })

  it('Envoy: with different weights and equal load, shares follow the weights', () => {
    const list = endpoints(3, 1)
    const lb = createLeastRequest(list)
    const random = mulberry32(11)
    let heavy = 0
    for (let i = 0; i < 100_000; i++) if (lb.pick([2, 2], random) === list[0]) heavy++
    expect(heavy / 100_000).toBeCloseTo(0.75, 2)
  })

  it('Envoy: no endpoints, no pick', () =>
    expect(createLeastRequest([]).pick([], Math.random)).toBeUndefined())

  it('Envoy: choice_count must be at least 2', () => {
    expect(() => createLeastRequest(endpoints(1), { choiceCount: 1 })).toThrow(InvalidOptionError)
  })

  it('Envoy: active_request_bias must be >= 0', () => {
    expect(() => createLeastRequest(endpoints(1), { activeRequestBias: -1 })).toThrow(InvalidOptionError)
  })

  it('Weft: a balancer describes itself for weft dump', () => {
    expect(createLeastRequest(endpoints(1, 1)).toJSON()).toEqual({
      policy: 'LEAST_REQUEST',
      endpoints: 2,
      choiceCount: 2,
      activeRequestBias: 1,
    })
  })
})
