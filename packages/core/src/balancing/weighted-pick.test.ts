import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../errors.js'
import {
  CHI_SQUARE_CRITICAL_P001,
  chiSquare,
  countPicks,
  mulberry32,
  sequence,
} from '../test-support/seeded-random.js'
import { createWeightedPick, WeightedPick } from './weighted-pick.js'

const picks: { name: string; weights: number[]; random: number; expected: number }[] = [
  { name: 'Istio: a single destination takes all traffic', weights: [100], random: 0.999, expected: 0 },
  {
    name: 'Istio: weights are relative (1:3), low draw goes to the first',
    weights: [1, 3],
    random: 0.24,
    expected: 0,
  },
  {
    name: 'Istio: weights are relative (1:3), a quarter and up goes to the second',
    weights: [1, 3],
    random: 0.25,
    expected: 1,
  },
  { name: 'Istio: 80/20 split, draw 0.79 goes to the 80', weights: [80, 20], random: 0.79, expected: 0 },
  { name: 'Istio: 80/20 split, draw 0.8 goes to the 20', weights: [80, 20], random: 0.8, expected: 1 },
  {
    name: 'Istio: a 0-weight first destination never gets the lowest draw',
    weights: [0, 50, 50],
    random: 0,
    expected: 1,
  },
  {
    name: 'Istio: a 0-weight middle destination is skipped at its boundary',
    weights: [50, 0, 50],
    random: 0.5,
    expected: 2,
  },
  {
    name: 'Istio: a 0-weight last destination never gets the top draw',
    weights: [50, 50, 0],
    random: 0.999999,
    expected: 1,
  },
  {
    name: 'Weft: a random() of exactly 1 lands on the last weighted item',
    weights: [50, 50, 0],
    random: 1,
    expected: 1,
  },
  { name: 'Istio: fractional relative weights', weights: [0.5, 0.25, 0.25], random: 0.6, expected: 1 },
  { name: 'Istio: three-way split lands in the third band', weights: [33, 33, 34], random: 0.7, expected: 2 },
  { name: 'Istio: all weights 0 route nowhere', weights: [0, 0], random: 0.5, expected: -1 },
  { name: 'Istio: no destinations route nowhere', weights: [], random: 0.5, expected: -1 },
]

describe('weighted pick: one draw, binary search over prefixed weights', () => {
  for (const c of picks) {
    it(c.name, () => {
      const items = c.weights.map((_, i) => `d${i}`)
      const wp = new WeightedPick(items, c.weights)
      expect(wp.pickIndex(sequence(c.random))).toBe(c.expected)
      expect(wp.pick(sequence(c.random))).toBe(c.expected < 0 ? undefined : items[c.expected])
    })
  }

  it('Istio: destination weights read from the items themselves', () => {
    const routes = [
      { host: 'reviews-v1', weight: 90 },
      { host: 'reviews-v2', weight: 10 },
    ]
    const wp = createWeightedPick(routes, (r) => r.weight)
    expect(wp.pick(sequence(0.95))?.host).toBe('reviews-v2')
    expect(wp.totalWeight).toBe(100)
    expect(wp.toJSON()).toEqual({ weights: [90, 10], totalWeight: 100 })
  })

  const invalid: { name: string; weights: number[]; items: number }[] = [
    { name: 'Istio: a negative weight is refused', weights: [10, -1], items: 2 },
    { name: 'Weft: a NaN weight is refused', weights: [Number.NaN], items: 1 },
    { name: 'Weft: an infinite weight is refused', weights: [Number.POSITIVE_INFINITY], items: 1 },
    { name: 'Weft: one weight per item', weights: [1, 2], items: 3 },
  ]
  for (const c of invalid) {
    it(c.name, () => {
      const items = Array.from({ length: c.items }, (_, i) => i)
      const build = () => new WeightedPick(items, c.weights)
      expect(build).toThrow(InvalidOptionError)
      expect(build).toThrow(expect.objectContaining({ code: 'WEFT_CORE_INVALID_OPTION' }))
    })
  }
})

describe('weighted pick: distribution over 100,000 seeded picks (chi-square, p = 0.001)', () => {
  const distributions: { name: string; weights: number[]; seed: number }[] = [
    { name: 'Istio: a 70/20/10 canary split holds its shares', weights: [70, 20, 10], seed: 1 },
    { name: 'Istio: relative weights 1:2:3:4 hold their shares', weights: [1, 2, 3, 4], seed: 7 },
    { name: 'Istio: an even four-way split with a 0-weight fifth', weights: [25, 25, 25, 25, 0], seed: 42 },
  ]
  for (const c of distributions) {
    it(c.name, () => {
      const wp = new WeightedPick(
        c.weights.map((_, i) => i),
        c.weights,
      )
      const random = mulberry32(c.seed)
      const counts = countPicks(c.weights.length, 100_000, () => wp.pickIndex(random))
      const total = c.weights.reduce((a, b) => a + b, 0)
      const pickable = c.weights.filter((w) => w > 0).length
      for (let i = 0; i < c.weights.length; i++) if (c.weights[i] === 0) expect(counts[i]).toBe(0)
      const statistic = chiSquare(
        counts.filter((_, i) => (c.weights[i] as number) > 0),
        c.weights.filter((w) => w > 0).map((w) => w / total),
      )
      expect(statistic).toBeLessThan(CHI_SQUARE_CRITICAL_P001[pickable - 1] as number)
    })
  }
})
