import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../errors.js'
import {
  createOutlierDetector,
  type OutlierDetectionOptions,
  type OutlierDetector,
  type OutlierEvent,
  type UpstreamOutcome,
} from './outlier-detector.js'

const ten = Array.from({ length: 10 }, (_, i) => `10.9.0.${i}:80`)
const E0 = ten[0] as string
const E1 = ten[1] as string
const E2 = ten[2] as string

const s500: UpstreamOutcome = { kind: 'response', status: 500 }
const s502: UpstreamOutcome = { kind: 'response', status: 502 }
const s503: UpstreamOutcome = { kind: 'response', status: 503 }
const s200: UpstreamOutcome = { kind: 'response', status: 200 }
const s404: UpstreamOutcome = { kind: 'response', status: 404 }
const connectFailure: UpstreamOutcome = { kind: 'connect-failure' }
const reset: UpstreamOutcome = { kind: 'reset' }
const timeout: UpstreamOutcome = { kind: 'timeout' }

/** Records the outcomes in order at `atMs`; returns the last event any of them produced. */
function play(
  d: OutlierDetector,
  endpoint: string,
  outcomes: UpstreamOutcome[],
  atMs: number,
): OutlierEvent | undefined {
  let last: OutlierEvent | undefined
  for (const o of outcomes) last = d.record(endpoint, o, atMs) ?? last
  return last
}

function times(outcome: UpstreamOutcome, n: number): UpstreamOutcome[] {
  return Array.from({ length: n }, () => outcome)
}

describe('outlier detection: what counts towards an ejection', () => {
  const cases: {
    name: string
    options?: OutlierDetectionOptions
    outcomes: UpstreamOutcome[]
    reason: string | undefined
  }[] = [
    {
      name: 'Envoy: 5 consecutive 5xx eject (consecutive_5xx default 5)',
      outcomes: times(s500, 5),
      reason: 'consecutive-5xx',
    },
    { name: 'Envoy: 4 consecutive 5xx do not eject', outcomes: times(s500, 4), reason: undefined },
    {
      name: 'Envoy: a success resets the consecutive 5xx count',
      outcomes: [...times(s500, 4), s200, ...times(s500, 4)],
      reason: undefined,
    },
    {
      name: 'Envoy: a 4xx is not a server error and resets the count',
      outcomes: [...times(s500, 4), s404, ...times(s500, 4)],
      reason: undefined,
    },
    {
      name: 'Istio: consecutiveGatewayErrors is off by default, so 502s eject as 5xx',
      outcomes: times(s502, 5),
      reason: 'consecutive-5xx',
    },
    {
      name: 'Istio: consecutiveGatewayErrors 3 ejects after three 503s',
      options: { consecutiveGatewayErrors: 3 },
      outcomes: times(s503, 3),
      reason: 'consecutive-gateway-failure',
    },
    {
      name: 'Envoy: a 500 is a 5xx but not a gateway error, and resets the gateway count',
      options: { consecutiveGatewayErrors: 3, consecutive5xxErrors: 0 },
      outcomes: [s503, s503, s500, s503, s503],
      reason: undefined,
    },
    {
      name: 'Istio: gateway errors also count as 5xx when the 5xx limit is lower',
      options: { consecutiveGatewayErrors: 10, consecutive5xxErrors: 3 },
      outcomes: times(s502, 3),
      reason: 'consecutive-5xx',
    },
    {
      name: 'Istio: consecutive5xxErrors 0 disables 5xx ejection',
      options: { consecutive5xxErrors: 0 },
      outcomes: times(s500, 50),
      reason: undefined,
    },
    {
      name: 'Envoy: without the split a connect failure counts as a 503',
      outcomes: times(connectFailure, 5),
      reason: 'consecutive-5xx',
    },
    {
      name: 'Envoy: without the split a reset counts as a 503, a gateway error',
      options: { consecutiveGatewayErrors: 2 },
      outcomes: times(reset, 2),
      reason: 'consecutive-gateway-failure',
    },
    {
      name: 'Envoy: without the split a timeout counts as a 504, a gateway error',
      options: { consecutiveGatewayErrors: 2 },
      outcomes: times(timeout, 2),
      reason: 'consecutive-gateway-failure',
    },
    {
      name: 'Istio: with splitExternalLocalOriginErrors, 5 local-origin failures eject (default 5)',
      options: { splitExternalLocalOriginErrors: true },
      outcomes: [connectFailure, reset, timeout, connectFailure, reset],
      reason: 'consecutive-local-origin-failure',
    },
    {
      name: 'Istio: consecutiveLocalOriginFailures sets the local-origin limit',
      options: { splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2 },
      outcomes: times(timeout, 2),
      reason: 'consecutive-local-origin-failure',
    },
    {
      name: 'Envoy: with the split, any response resets the local-origin count',
      options: { splitExternalLocalOriginErrors: true },
      outcomes: [...times(reset, 4), s503, ...times(reset, 4)],
      reason: undefined,
    },
    {
      name: 'Envoy: with the split, local-origin failures do not count as 5xx',
      options: {
        splitExternalLocalOriginErrors: true,
        consecutive5xxErrors: 2,
        consecutiveLocalOriginFailures: 0,
      },
      outcomes: times(connectFailure, 10),
      reason: undefined,
    },
    {
      name: 'Envoy: with the split, upstream 5xx still eject as 5xx',
      options: { splitExternalLocalOriginErrors: true },
      outcomes: times(s500, 5),
      reason: 'consecutive-5xx',
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const d = createOutlierDetector(c.options ?? {}, ten, 0)
      const event = play(d, E0, c.outcomes, 1)
      if (c.reason === undefined) {
        expect(event).toBeUndefined()
        expect(d.isEjected(E0, 1)).toBe(false)
      } else {
        expect(event).toMatchObject({ type: 'ejected', endpoint: E0, reason: c.reason, timesEjected: 1 })
        expect(d.isEjected(E0, 1)).toBe(true)
      }
    })
  }

  it('Envoy: outcomes for an endpoint the detector does not know are ignored', () => {
    const d = createOutlierDetector({}, ten, 0)
    expect(play(d, '10.9.9.9:80', times(s500, 10), 1)).toBeUndefined()
  })
})

describe('outlier detection timelines under a fake clock (interval 10 s, base 30 s)', () => {
  it('Envoy: an ejected endpoint is re-admitted at the first sweep after base_ejection_time', () => {
    const d = createOutlierDetector({}, ten, 0)
    expect(play(d, E0, times(s500, 5), 5_000)).toMatchObject({ type: 'ejected', ejectionTimeMs: 30_000 })
    expect(d.isEjected(E0, 34_999)).toBe(true)
    expect(d.isEjected(E0, 39_999)).toBe(true)
    expect(d.sweep(40_000)).toEqual([{ type: 'unejected', endpoint: E0, atMs: 40_000 }])
    expect(d.isEjected(E0, 40_000)).toBe(false)
  })

  it('Envoy: ejection time = baseEjectionTime × times ejected while the endpoint keeps failing', () => {
    const d = createOutlierDetector({}, ten, 0)
    const first = play(d, E0, times(s500, 5), 0)
    expect(first).toMatchObject({ ejectionTimeMs: 30_000, timesEjected: 1 })
    expect(d.sweep(30_000)).toHaveLength(1)
    const second = play(d, E0, times(s500, 5), 31_000)
    expect(second).toMatchObject({ ejectionTimeMs: 60_000, timesEjected: 2 })
    expect(d.isEjected(E0, 90_000)).toBe(true)
    expect(d.sweep(100_000)).toEqual([{ type: 'unejected', endpoint: E0, atMs: 100_000 }])
    const third = play(d, E0, times(s500, 5), 101_000)
    expect(third).toMatchObject({ ejectionTimeMs: 90_000, timesEjected: 3 })
  })

  it('Envoy: the multiplier decays by one for each sweep that finds the endpoint healthy an interval on', () => {
    const d = createOutlierDetector({}, ten, 0)
    play(d, E0, times(s500, 5), 0)
    play(d, E0, times(s500, 5), 31_000) // 60 s, re-admitted at the sweep at 100 s
    // Sweeps at 110 s and 120 s each take one off the multiplier of 2.
    expect(play(d, E0, times(s500, 5), 125_000)).toMatchObject({ ejectionTimeMs: 30_000, timesEjected: 3 })
  })

  it('Envoy: a re-ejection before the next sweep keeps the grown multiplier', () => {
    const d = createOutlierDetector({}, ten, 0)
    play(d, E0, times(s500, 5), 0)
    expect(play(d, E0, times(s500, 5), 39_999)).toMatchObject({ ejectionTimeMs: 60_000 })
  })

  it('Envoy: max_ejection_time caps the growth', () => {
    const d = createOutlierDetector({ maxEjectionTimeMs: 60_000 }, ten, 0)
    const ejectionTimes: number[] = []
    let at = 0
    for (let round = 0; round < 4; round++) {
      const e = play(d, E0, times(s500, 5), at)
      ejectionTimes.push(e?.type === 'ejected' ? e.ejectionTimeMs : -1)
      let readmitted: OutlierEvent | undefined
      while (readmitted === undefined) {
        at += 10_000
        readmitted = d.sweep(at)[0]
      }
      at = readmitted.atMs + 1
    }
    expect(ejectionTimes).toEqual([30_000, 60_000, 60_000, 60_000])
  })

  it('Istio: baseEjectionTime above 300 s raises the cap to it', () => {
    const d = createOutlierDetector({ baseEjectionTimeMs: 600_000 }, ten, 0)
    expect(play(d, E0, times(s500, 5), 0)).toMatchObject({ ejectionTimeMs: 600_000 })
  })

  it('Envoy: re-admission resets every consecutive counter', () => {
    const d = createOutlierDetector({ consecutive5xxErrors: 5, consecutiveGatewayErrors: 8 }, ten, 0)
    play(d, E0, times(s503, 5), 0) // 5xx ejection; the gateway count stood at 5
    d.sweep(30_000)
    // Had the gateway count survived, the 3rd 503 would be the 8th gateway error.
    expect(play(d, E0, times(s503, 3), 30_001)).toBeUndefined()
    expect(play(d, E0, times(s503, 2), 30_002)).toMatchObject({ reason: 'consecutive-5xx' })
  })

  it('Envoy: what an ejected endpoint reports (panic traffic) neither extends nor repeats its ejection', () => {
    const d = createOutlierDetector({}, ten, 0)
    play(d, E0, times(s500, 5), 0)
    expect(play(d, E0, times(s500, 20), 10_000)).toBeUndefined()
    expect(d.sweep(30_000)).toHaveLength(1)
  })

  it('Weft: sweeps follow the detector clock, not the ejection time (ticks every 10 s from creation)', () => {
    const d = createOutlierDetector({}, ten, 3_000)
    play(d, E0, times(s500, 5), 3_500)
    expect(d.sweep(33_499)).toEqual([])
    expect(d.sweep(43_000)).toEqual([{ type: 'unejected', endpoint: E0, atMs: 43_000 }])
  })

  it('Weft: a long quiet spell is caught up in one pass (1 ms interval, a day later)', () => {
    const d = createOutlierDetector({ intervalMs: 1 }, ten, 0)
    play(d, E0, times(s500, 5), 0)
    play(d, E0, times(s500, 5), 30_000) // re-admitted at 30 s and ejected again for 60 s
    expect(d.sweep(86_400_000)).toEqual([{ type: 'unejected', endpoint: E0, atMs: 90_000 }])
    expect(d.isEjected(E0, 86_400_000)).toBe(false)
    expect(play(d, E0, times(s500, 5), 86_400_000)).toMatchObject({ ejectionTimeMs: 30_000 })
  })

  it('Weft: the detector state reads as JSON for weft dump', () => {
    const d = createOutlierDetector({}, [E0, E1], 0)
    play(d, E0, times(s500, 5), 0)
    expect(JSON.parse(JSON.stringify(d))).toEqual({
      ejected: 0,
      endpoints: { [E0]: { ejected: false, timesEjected: 0 }, [E1]: { ejected: false, timesEjected: 0 } },
    })
  })
})

describe('outlier detection: how many endpoints may be ejected', () => {
  it('Envoy: max_ejection_percent counts the ejection itself (10 % of 10 allows one)', () => {
    const d = createOutlierDetector({}, ten, 0)
    expect(play(d, E0, times(s500, 5), 1)).toMatchObject({ type: 'ejected' })
    expect(play(d, E1, times(s500, 5), 1)).toEqual({
      type: 'ejection-overflow',
      endpoint: E1,
      reason: 'consecutive-5xx',
      atMs: 1,
    })
    expect(d.isEjected(E1, 1)).toBe(false)
  })

  it('Envoy (since 1.27): with the default 10 % and fewer than ten endpoints, none is ejected', () => {
    const d = createOutlierDetector({}, [E0, E1, E2], 0)
    expect(play(d, E0, times(s500, 5), 1)).toMatchObject({ type: 'ejection-overflow' })
  })

  it('Envoy: after an overflow the count starts again', () => {
    const d = createOutlierDetector({}, [E0, E1, E2], 0)
    play(d, E0, times(s500, 5), 1)
    expect(play(d, E0, times(s500, 4), 1)).toBeUndefined()
  })

  it('Istio: maxEjectionPercent 50 of 4 endpoints allows two', () => {
    const four = ten.slice(0, 4)
    const d = createOutlierDetector({ maxEjectionPercent: 50 }, four, 0)
    const events = four.map((e) => play(d, e, times(s500, 5), 1)?.type)
    expect(events).toEqual(['ejected', 'ejected', 'ejection-overflow', 'ejection-overflow'])
  })

  it('Istio: maxEjectionPercent 100 may eject every endpoint', () => {
    const three = [E0, E1, E2]
    const d = createOutlierDetector({ maxEjectionPercent: 100 }, three, 0)
    for (const e of three) play(d, e, times(s500, 5), 1)
    expect(d.healthy(three.map(asEndpoint), 1)).toEqual({ endpoints: [], panic: false })
  })

  it('Envoy: an endpoint that leaves the cluster is forgotten, freeing its share', () => {
    const d = createOutlierDetector({}, ten, 0)
    play(d, E0, times(s500, 5), 1)
    d.setEndpoints(ten.slice(1), 2)
    const added = '10.9.1.0:80'
    d.setEndpoints([...ten.slice(1), added], 3)
    expect(play(d, E1, times(s500, 5), 4)).toMatchObject({ type: 'ejected' })
    expect(d.isEjected(E0, 4)).toBe(false)
  })
})

function asEndpoint(key: string): { address: string; port: number } {
  const at = key.lastIndexOf(':')
  return { address: key.slice(0, at), port: Number(key.slice(at + 1)) }
}

describe('outlier detection: the healthy set and panic mode', () => {
  const four = ten.slice(0, 4)
  const endpoints = four.map(asEndpoint)

  const panics: {
    name: string
    minHealthPercent: number
    ejected: number
    panic: boolean
    usable: number
  }[] = [
    {
      name: 'Istio: minHealthPercent 0 (default) never panics, even with 1 of 4 left',
      minHealthPercent: 0,
      ejected: 3,
      panic: false,
      usable: 1,
    },
    {
      name: 'Envoy: 3 of 4 healthy (75 % × 1.4 ≥ 100) never panics',
      minHealthPercent: 80,
      ejected: 1,
      panic: false,
      usable: 3,
    },
    {
      name: 'Envoy: 2 of 4 healthy is not below a 50 % threshold',
      minHealthPercent: 50,
      ejected: 2,
      panic: false,
      usable: 2,
    },
    {
      name: 'Envoy: 1 of 4 healthy is below 50 %: panic, balance over all',
      minHealthPercent: 50,
      ejected: 3,
      panic: true,
      usable: 4,
    },
    {
      name: 'Envoy: 2 of 4 healthy is below 60 %: panic',
      minHealthPercent: 60,
      ejected: 2,
      panic: true,
      usable: 4,
    },
    {
      name: 'Envoy: with no endpoint healthy and a threshold set, panic uses all',
      minHealthPercent: 1,
      ejected: 4,
      panic: true,
      usable: 4,
    },
  ]
  for (const c of panics) {
    it(c.name, () => {
      const d = createOutlierDetector(
        { maxEjectionPercent: 100, minHealthPercent: c.minHealthPercent },
        four,
        0,
      )
      for (const e of four.slice(0, c.ejected)) play(d, e, times(s500, 5), 1)
      const set = d.healthy(endpoints, 1)
      expect(set.panic).toBe(c.panic)
      expect(set.endpoints).toHaveLength(c.usable)
      if (!c.panic)
        for (const e of set.endpoints)
          expect(four.slice(0, c.ejected)).not.toContain(`${e.address}:${e.port}`)
    })
  }

  it('Envoy: panic ends when an endpoint is re-admitted', () => {
    const d = createOutlierDetector({ maxEjectionPercent: 100, minHealthPercent: 50 }, four, 0)
    for (const e of four.slice(0, 3)) play(d, e, times(s500, 5), 1)
    expect(d.healthy(endpoints, 1).panic).toBe(true)
    expect(d.healthy(endpoints, 39_999).panic).toBe(true)
    expect(d.healthy(endpoints, 40_000)).toEqual({ endpoints, panic: false })
  })

  it('Weft: the healthy set is cached until an ejection changes it', () => {
    const d = createOutlierDetector({ maxEjectionPercent: 100 }, four, 0)
    const a = d.healthy(endpoints, 1)
    expect(d.healthy(endpoints, 2)).toBe(a)
    expect(a.endpoints).toBe(endpoints)
    play(d, E0, times(s500, 5), 3)
    const b = d.healthy(endpoints, 3)
    expect(b).not.toBe(a)
    expect(b.endpoints).toEqual(endpoints.slice(1))
  })

  it('Weft: endpoints the detector does not track are treated as healthy', () => {
    const d = createOutlierDetector({}, [], 0)
    expect(d.healthy(endpoints, 1)).toEqual({ endpoints, panic: false })
  })
})

describe('outlier detection: options are checked once', () => {
  const invalid: { name: string; options: OutlierDetectionOptions }[] = [
    { name: 'Istio: interval must be at least 1 ms', options: { intervalMs: 0 } },
    { name: 'Istio: baseEjectionTime must be at least 1 ms', options: { baseEjectionTimeMs: -5 } },
    {
      name: 'Envoy: max_ejection_time may not be below base_ejection_time',
      options: { baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 10_000 },
    },
    { name: 'Istio: consecutive5xxErrors is a non-negative integer', options: { consecutive5xxErrors: -1 } },
    { name: 'Istio: minHealthPercent is a percentage', options: { minHealthPercent: 101 } },
    { name: 'Istio: maxEjectionPercent is not negative', options: { maxEjectionPercent: -10 } },
  ]
  for (const c of invalid) {
    it(c.name, () => expect(() => createOutlierDetector(c.options, ten, 0)).toThrow(InvalidOptionError))
  }
})
