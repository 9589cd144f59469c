import { describe, expect, it } from 'vitest'
import { DURATION_BUCKETS_MS, durationQuantileMs } from './duration-quantile.js'

const bounds = [1, 2, 4]

describe('durationQuantileMs: histogram_quantile over per-bucket counts', () => {
  it.each([
    { what: 'the middle of one bucket', q: 0.5, counts: [0, 10, 0, 0], expected: 1.5 },
    { what: 'rank at the top of a bucket', q: 0.5, counts: [5, 5, 0, 0], expected: 1 },
    { what: 'the first bucket starts at 0', q: 0.5, counts: [4, 0, 0, 0], expected: 0.5 },
    { what: 'p99 near the top of the last filled bucket', q: 0.99, counts: [90, 10, 0, 0], expected: 1.9 },
    { what: 'p50 at a bucket boundary', q: 0.5, counts: [2, 2, 4, 0], expected: 2 },
    { what: 'p75 inside a later bucket', q: 0.75, counts: [2, 2, 4, 0], expected: 3 },
    { what: 'empty buckets below the rank are skipped', q: 0.5, counts: [0, 0, 6, 0], expected: 3 },
    { what: 'the overflow bucket gives the highest bound', q: 0.99, counts: [1, 0, 0, 99], expected: 4 },
    { what: 'q = 1 is the top of the last filled bucket', q: 1, counts: [3, 1, 0, 0], expected: 2 },
    { what: 'nothing counted', q: 0.5, counts: [0, 0, 0, 0], expected: null },
    { what: 'q out of range', q: 1.5, counts: [1, 0, 0, 0], expected: null },
  ])('$what: q=$q of $counts → $expected', ({ q, counts, expected }) => {
    const got = durationQuantileMs(q, counts, bounds)
    if (expected === null) expect(got).toBeNull()
    else expect(got).toBeCloseTo(expected, 9)
  })

  it('defaults to the SDK bounds: 100 requests between 5 and 10 ms have p50 7.5 ms and p99 9.95 ms', () => {
    const counts = new Array(DURATION_BUCKETS_MS.length + 1).fill(0)
    counts[DURATION_BUCKETS_MS.indexOf(10)] = 100
    expect(durationQuantileMs(0.5, counts)).toBeCloseTo(7.5, 9)
    expect(durationQuantileMs(0.99, counts)).toBeCloseTo(9.95, 9)
  })
})
