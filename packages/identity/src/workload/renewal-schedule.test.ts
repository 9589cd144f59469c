import { describe, expect, it } from 'vitest'
import { renewalTimeMs, retryDelayMs } from './renewal-schedule.js'

describe('renewal time', () => {
  const cases: { name: string; notBefore: number; notAfter: number; received: number; expected: number }[] = [
    {
      name: 'half of a 24 h certificate',
      notBefore: 0,
      notAfter: 86_400_000,
      received: 0,
      expected: 43_200_000,
    },
    {
      name: 'a back-dated notBefore counts from arrival',
      notBefore: -60_000,
      notAfter: 10_000,
      received: 0,
      expected: 5_000,
    },
    {
      name: 'arrival before notBefore counts from notBefore',
      notBefore: 1_000,
      notAfter: 3_000,
      received: 0,
      expected: 2_000,
    },
    {
      name: 'an expired certificate is renewed at once',
      notBefore: 0,
      notAfter: 1_000,
      received: 5_000,
      expected: 5_000,
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      expect(renewalTimeMs({ notBeforeMs: c.notBefore, notAfterMs: c.notAfter }, c.received, 0.5)).toBe(
        c.expected,
      )
    })
  }
})

describe('retry delay', () => {
  const cases: [number, number, number][] = [
    // failures, random, expected (initial 1 s, max 30 s)
    [1, 0, 500],
    [1, 0.999_999, 999.9995],
    [2, 0, 1_000],
    [3, 0.5, 3_000],
    [6, 0, 15_000],
    [7, 0, 15_000],
    [50, 1, 30_000],
  ]
  for (const [failures, random, expected] of cases) {
    it(`failure ${failures}, random ${random}: ${expected} ms`, () => {
      expect(retryDelayMs(failures, 1_000, 30_000, () => random)).toBeCloseTo(expected, 3)
    })
  }
})
