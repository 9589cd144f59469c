import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../errors.js'
import { mulberry32, sequence } from '../test-support/seeded-random.js'
import { type BackoffOptions, createRetryBackoff, parseRetryAfterMs } from './backoff.js'

const TOP = 0.999_999

describe('retry back-off: fully jittered exponential', () => {
  const cases: { name: string; options?: BackoffOptions; retry: number; random: number; expected: number }[] =
    [
      {
        name: 'Envoy: the first retry waits 0–24 ms with the 25 ms base',
        retry: 1,
        random: TOP,
        expected: 24,
      },
      { name: 'Envoy: the second retry waits up to 49 ms', retry: 2, random: TOP, expected: 49 },
      { name: 'Envoy: the third retry waits up to 99 ms', retry: 3, random: TOP, expected: 99 },
      { name: 'Envoy: the fourth retry waits up to 199 ms', retry: 4, random: TOP, expected: 199 },
      { name: 'Envoy: the interval is capped at 10 × base (250 ms)', retry: 5, random: TOP, expected: 249 },
      { name: 'Envoy: it stays at the cap', retry: 30, random: TOP, expected: 249 },
      { name: 'Envoy: full jitter can wait 0 ms', retry: 4, random: 0, expected: 0 },
      { name: 'Envoy: the wait is uniform within the interval', retry: 3, random: 0.5, expected: 50 },
      { name: 'Weft: a random() of exactly 1 stays inside the interval', retry: 1, random: 1, expected: 24 },
      {
        name: 'Istio: retries.backoff sets the base, and the cap follows at 10 ×',
        options: { baseIntervalMs: 100 },
        retry: 5,
        random: TOP,
        expected: 999,
      },
      {
        name: 'Envoy: retry_back_off.max_interval caps the growth',
        options: { maxIntervalMs: 300 },
        retry: 5,
        random: TOP,
        expected: 299,
      },
      {
        name: 'Envoy: a max_interval equal to the base keeps every wait under the base',
        options: { baseIntervalMs: 40, maxIntervalMs: 40 },
        retry: 9,
        random: TOP,
        expected: 39,
      },
    ]
  for (const c of cases) {
    it(c.name, () => {
      const b = createRetryBackoff(c.options)
      expect(b.exponentialMs(c.retry, sequence(c.random))).toBe(c.expected)
      expect(b.next(c.retry, sequence(c.random), 0)).toEqual({ delayMs: c.expected, source: 'exponential' })
    })
  }

  it('Envoy: waits are uniform over [0, interval): mean about half the interval', () => {
    const b = createRetryBackoff()
    const random = mulberry32(17)
    let sum = 0
    for (let i = 0; i < 20_000; i++) sum += b.exponentialMs(3, random)
    expect(sum / 20_000).toBeCloseTo(49.5, 0)
  })

  const invalid: { name: string; options: BackoffOptions }[] = [
    { name: 'Envoy: base_interval must be above 0', options: { baseIntervalMs: 0 } },
    {
      name: 'Envoy: max_interval may not be below base_interval',
      options: { baseIntervalMs: 100, maxIntervalMs: 50 },
    },
  ]
  for (const c of invalid) {
    it(c.name, () => expect(() => createRetryBackoff(c.options)).toThrow(InvalidOptionError))
  }
})

const NOW = Date.UTC(2015, 9, 21, 7, 28, 0)

describe('Retry-After', () => {
  const parses: { name: string; value: string; expected: number | undefined }[] = [
    { name: 'RFC 9110: delay-seconds', value: '120', expected: 120_000 },
    { name: 'RFC 9110: delay-seconds with surrounding space', value: ' 2 ', expected: 2000 },
    { name: 'RFC 9110: 0 seconds', value: '0', expected: 0 },
    { name: 'RFC 9110: an IMF-fixdate', value: 'Wed, 21 Oct 2015 07:28:05 GMT', expected: 5000 },
    {
      name: 'RFC 9110: an obsolete RFC 850 date',
      value: 'Wednesday, 21-Oct-15 07:28:10 GMT',
      expected: 10_000,
    },
    { name: 'RFC 9110: an obsolete asctime date', value: 'Wed Oct 21 07:28:03 2015', expected: 3000 },
    {
      name: 'RFC 9110: an asctime date with a one-digit day',
      value: 'Wed Nov  4 07:28:00 2015',
      expected: 14 * 86_400_000,
    },
    {
      name: 'RFC 9110: a date in the past means retry now',
      value: 'Tue, 20 Oct 2015 07:28:00 GMT',
      expected: 0,
    },
    {
      name: 'RFC 9110: a two-digit year more than 50 years ahead is in the past century',
      value: 'Sunday, 06-Nov-94 08:49:37 GMT',
      expected: 0,
    },
    { name: 'RFC 9110: negative seconds are not delay-seconds', value: '-5', expected: undefined },
    { name: 'RFC 9110: fractional seconds are not delay-seconds', value: '1.5', expected: undefined },
    {
      name: 'RFC 9110: a date outside GMT is not an HTTP-date',
      value: 'Wed, 21 Oct 2015 07:28:05 PST',
      expected: undefined,
    },
    {
      name: 'RFC 9110: an unknown month is not an HTTP-date',
      value: 'Wed, 21 Foo 2015 07:28:05 GMT',
      expected: undefined,
    },
    {
      name: 'RFC 9110: hour 25 is not an HTTP-date',
      value: 'Wed, 21 Oct 2015 25:28:05 GMT',
      expected: undefined,
    },
    { name: 'RFC 9110: prose is not a Retry-After', value: 'soon', expected: undefined },
    { name: 'RFC 9110: an empty header is not a Retry-After', value: '', expected: undefined },
  ]
  for (const c of parses) {
    it(c.name, () => expect(parseRetryAfterMs(c.value, NOW)).toBe(c.expected))
  }

  it('RFC 9110: a two-digit year within 50 years is this century', () => {
    expect(parseRetryAfterMs('Monday, 21-Oct-30 07:28:00 GMT', NOW)).toBe(
      Date.UTC(2030, 9, 21, 7, 28, 0) - NOW,
    )
  })

  const delays: {
    name: string
    retryAfter: string
    random: number
    expected: { delayMs: number; source: string }
  }[] = [
    {
      name: 'Envoy rate-limited back-off: Retry-After seconds set the lower bound',
      retryAfter: '2',
      random: 0,
      expected: { delayMs: 2000, source: 'retry-after' },
    },
    {
      name: 'Envoy rate-limited back-off: jitter adds up to half again',
      retryAfter: '2',
      random: 0.5,
      expected: { delayMs: 2500, source: 'retry-after' },
    },
    {
      name: 'Weft: an HTTP-date Retry-After is honoured from the given clock',
      retryAfter: 'Wed, 21 Oct 2015 07:28:05 GMT',
      random: 0,
      expected: { delayMs: 5000, source: 'retry-after' },
    },
    {
      name: 'Envoy: Retry-After 0 is not usable and the exponential back-off applies',
      retryAfter: '0',
      random: TOP,
      expected: { delayMs: 24, source: 'exponential' },
    },
    {
      name: 'Envoy: a Retry-After above max_interval (300 s) is ignored',
      retryAfter: '301',
      random: TOP,
      expected: { delayMs: 24, source: 'exponential' },
    },
    {
      name: 'Envoy: an unparsable Retry-After falls back to the exponential back-off',
      retryAfter: 'later',
      random: 0,
      expected: { delayMs: 0, source: 'exponential' },
    },
  ]
  for (const c of delays) {
    it(c.name, () =>
      expect(createRetryBackoff().next(1, sequence(c.random), NOW, c.retryAfter)).toEqual(c.expected),
    )
  }

  it('Weft: the back-off options read as JSON', () => {
    expect(JSON.parse(JSON.stringify(createRetryBackoff()))).toEqual({
      baseIntervalMs: 25,
      maxIntervalMs: 250,
      retryAfterMaxMs: 300_000,
    })
  })
})
