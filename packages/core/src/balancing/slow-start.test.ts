import { describe, expect, it } from 'vitest'
import { slowStartFactor, slowStartOf } from './slow-start.js'

describe('slow start (Istio warmup / warmupDurationSecs → Envoy slow_start_config)', () => {
  it('Istio: no warm-up configured, no slow start', () => {
    expect(slowStartOf(undefined)).toBeUndefined()
    expect(slowStartOf({ simple: 'ROUND_ROBIN' })).toBeUndefined()
  })
  it("Istio: warmupDurationSecs with Envoy's defaults (10 % floor, aggression 1)", () => {
    expect(slowStartOf({ warmupDurationSecs: '60s' })).toEqual({
      windowMs: 60_000,
      minWeightFactor: 0.1,
      aggression: 1,
    })
  })
  it('Istio: warmup sets duration, minimumPercent and aggression', () => {
    expect(slowStartOf({ warmup: { duration: '30s', minimumPercent: 25, aggression: 2 } })).toEqual({
      windowMs: 30_000,
      minWeightFactor: 0.25,
      aggression: 2,
    })
  })
  const linear = { windowMs: 100_000, minWeightFactor: 0.1, aggression: 1 }
  const cases: [name: string, slowStart: typeof linear, ageMs: number, want: number][] = [
    ['Envoy: a brand-new endpoint gets the floor', linear, 0, 0.1],
    ['Envoy: aggression 1 grows linearly', linear, 50_000, 0.5],
    ['Envoy: the floor holds early in the window', linear, 5_000, 0.1],
    ['Envoy: past the window the full weight', linear, 100_000, 1],
    ['Envoy: aggression 2 ramps faster at first (square root)', { ...linear, aggression: 2 }, 25_000, 0.5],
    ['Envoy: aggression 0.5 ramps slower (square)', { ...linear, aggression: 0.5 }, 50_000, 0.25],
  ]
  for (const [name, slowStart, ageMs, want] of cases)
    it(name, () => expect(slowStartFactor(slowStart, ageMs)).toBeCloseTo(want, 9))
})
