import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../errors.js'
import { mulberry32 } from '../test-support/seeded-random.js'
import { createTokenBucket, rateLimitHeaders, type TokenBucketOptions } from './token-bucket.js'

/** Takes one token at each of `times`; `remaining` or `-retryAfterMs` per take. */
function run(options: TokenBucketOptions, createdAtMs: number, times: number[]): number[] {
  const bucket = createTokenBucket(options, createdAtMs)
  return times.map((t) => {
    const d = bucket.take(t)
    return d.allowed ? d.remaining : -d.retryAfterMs
  })
}

describe('token bucket', () => {
  const timelines: {
    name: string
    options: TokenBucketOptions
    createdAtMs?: number
    times: number[]
    expected: number[]
  }[] = [
    {
      name: 'Envoy: the bucket starts with max_tokens, then refuses until the next fill',
      options: { maxTokens: 3, fillIntervalMs: 1000 },
      times: [0, 0, 0, 0],
      expected: [2, 1, 0, -1000],
    },
    {
      name: 'Envoy: tokens_per_fill (default 1) arrive every fill_interval',
      options: { maxTokens: 2, fillIntervalMs: 1000 },
      times: [0, 0, 1000, 1000],
      expected: [1, 0, 0, -1000],
    },
    {
      name: 'Envoy: fills are discrete: nothing arrives a millisecond early',
      options: { maxTokens: 1, fillIntervalMs: 1000 },
      times: [0, 999, 1000],
      expected: [0, -1, 0],
    },
    {
      name: 'Envoy: tokens_per_fill 5 adds five tokens at once',
      options: { maxTokens: 10, tokensPerFill: 5, fillIntervalMs: 1000 },
      times: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000],
      expected: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1000, 4],
    },
    {
      name: 'Envoy: the bucket never holds more than max_tokens',
      options: { maxTokens: 3, fillIntervalMs: 100 },
      times: [0, 10_000],
      expected: [2, 2],
    },
    {
      name: 'Envoy: several missed fills are all added when next asked',
      options: { maxTokens: 10, fillIntervalMs: 100 },
      times: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 350],
      expected: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 2],
    },
    {
      name: 'Envoy: fills keep the timer phase of the bucket creation',
      options: { maxTokens: 1, fillIntervalMs: 1000 },
      createdAtMs: 500,
      times: [500, 1499, 1500],
      expected: [0, -1, 0],
    },
    {
      name: 'Envoy: a refused request learns the time to the next fill',
      options: { maxTokens: 1, fillIntervalMs: 1000 },
      times: [0, 250],
      expected: [0, -750],
    },
    {
      name: 'Weft: a clock that steps back neither refills nor lengthens the wait past one interval',
      options: { maxTokens: 1, fillIntervalMs: 1000 },
      createdAtMs: 1000,
      times: [1000, 400],
      expected: [0, -1000],
    },
    {
      name: 'Envoy: max_tokens 0 refuses everything',
      options: { maxTokens: 0, fillIntervalMs: 1000 },
      times: [0, 5000],
      expected: [-1000, -1000],
    },
  ]
  for (const c of timelines) {
    it(c.name, () => expect(run(c.options, c.createdAtMs ?? 0, c.times)).toEqual(c.expected))
  }

  it('Envoy: state() reports limit, remaining and the time to the next fill', () => {
    const bucket = createTokenBucket({ maxTokens: 10, fillIntervalMs: 60_000 }, 0)
    bucket.take(1)
    expect(bucket.state(15_000)).toEqual({ limit: 10, remaining: 9, resetMs: 45_000 })
  })

  it('Envoy: over a minute of seeded traffic, admissions never exceed max_tokens + fills × tokens_per_fill', () => {
    const bucket = createTokenBucket({ maxTokens: 20, tokensPerFill: 5, fillIntervalMs: 1000 }, 0)
    const random = mulberry32(8)
    let allowed = 0
    for (let t = 0; t < 60_000; t += Math.floor(random() * 20)) if (bucket.take(t).allowed) allowed++
    expect(allowed).toBeLessThanOrEqual(20 + 59 * 5)
    expect(allowed).toBeGreaterThanOrEqual(20 + 58 * 5)
  })

  const invalid: { name: string; options: TokenBucketOptions }[] = [
    { name: 'Envoy: fill_interval must be above 0', options: { maxTokens: 1, fillIntervalMs: 0 } },
    {
      name: 'Envoy: tokens_per_fill must be above 0',
      options: { maxTokens: 1, tokensPerFill: 0, fillIntervalMs: 1000 },
    },
    { name: 'Envoy: max_tokens is a whole number', options: { maxTokens: 1.5, fillIntervalMs: 1000 } },
    { name: 'Envoy: max_tokens is not negative', options: { maxTokens: -1, fillIntervalMs: 1000 } },
  ]
  for (const c of invalid) {
    it(c.name, () => expect(() => createTokenBucket(c.options, 0)).toThrow(InvalidOptionError))
  }

  it('Weft: a bucket reads as JSON for weft dump', () => {
    const bucket = createTokenBucket({ maxTokens: 2, fillIntervalMs: 1000 }, 0)
    bucket.take(0)
    expect(JSON.parse(JSON.stringify(bucket))).toEqual({
      maxTokens: 2,
      tokensPerFill: 1,
      fillIntervalMs: 1000,
      tokens: 1,
    })
  })
})

describe('x-ratelimit headers', () => {
  const headers: {
    name: string
    state: { limit: number; remaining: number; resetMs: number }
    reset: string
  }[] = [
    {
      name: 'Envoy (draft 03): reset is whole seconds to the next fill, rounded up',
      state: { limit: 10, remaining: 3, resetMs: 1500 },
      reset: '2',
    },
    {
      name: 'Envoy (draft 03): an exact second stays as is',
      state: { limit: 10, remaining: 0, resetMs: 1000 },
      reset: '1',
    },
    {
      name: 'Envoy (draft 03): a fill due now reads 0',
      state: { limit: 1, remaining: 1, resetMs: 0 },
      reset: '0',
    },
  ]
  for (const c of headers) {
    it(c.name, () =>
      expect(rateLimitHeaders(c.state)).toEqual({
        'x-ratelimit-limit': String(c.state.limit),
        'x-ratelimit-remaining': String(c.state.remaining),
        'x-ratelimit-reset': c.reset,
      }),
    )
  }
})
