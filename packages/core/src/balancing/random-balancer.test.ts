import { describe, expect, it } from 'vitest'
import {
  CHI_SQUARE_CRITICAL_P001,
  chiSquare,
  countPicks,
  mulberry32,
  sequence,
} from '../test-support/seeded-random.js'
import type { Endpoint } from './endpoint.js'
import { createRandomBalancer } from './random-balancer.js'

const list: Endpoint[] = [
  { address: '10.0.2.1', port: 80, weight: 1 },
  { address: '10.0.2.2', port: 80, weight: 10 },
  { address: '10.0.2.3', port: 80, weight: 1 },
  { address: '10.0.2.4', port: 80, weight: 1 },
]

describe('random', () => {
  const draws: { name: string; random: number; expected: number }[] = [
    { name: 'Envoy RANDOM: the lowest draw picks the first endpoint', random: 0, expected: 0 },
    { name: 'Envoy RANDOM: a draw in the second quarter picks the second', random: 0.26, expected: 1 },
    { name: 'Envoy RANDOM: the top draw picks the last endpoint', random: 0.999_999, expected: 3 },
    { name: 'Weft: a random() of exactly 1 still picks an endpoint', random: 1, expected: 0 },
  ]
  for (const c of draws) {
    it(c.name, () => expect(createRandomBalancer(list).pick(sequence(c.random))).toBe(list[c.expected]))
  }

  it('Envoy RANDOM: endpoint weights do not skew the choice (uniform, chi-square p = 0.001)', () => {
    const lb = createRandomBalancer(list)
    const random = mulberry32(5)
    const counts = countPicks(4, 100_000, () => list.indexOf(lb.pick(random) as Endpoint))
    expect(chiSquare(counts, [0.25, 0.25, 0.25, 0.25])).toBeLessThan(CHI_SQUARE_CRITICAL_P001[3] as number)
  })

  it('Envoy: no endpoints, no pick', () => expect(createRandomBalancer([]).pick(Math.random)).toBeUndefined())

  it('Weft: a balancer describes itself for weft dump', () => {
    expect(createRandomBalancer(list).toJSON()).toEqual({ policy: 'RANDOM', endpoints: 4 })
  })
})
