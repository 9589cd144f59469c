import type { CompiledFault } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { mulberry32, sequence } from '../test-support/seeded-random.js'
import { decideFault, type FaultDecision } from './fault-decision.js'

const none: FaultDecision = { delayMs: 0, abort: null }

describe('fault injection', () => {
  const cases: {
    name: string
    fault: CompiledFault | undefined
    draws: number[]
    expected: FaultDecision
  }[] = [
    { name: 'Istio: a route without fault forwards as is', fault: undefined, draws: [0], expected: none },
    {
      name: 'Istio: a delay with no percentage delays no request',
      fault: { delay: { fixedDelayMs: 5000, percent: 0 } },
      draws: [0],
      expected: none,
    },
    {
      name: 'Istio: an abort with no percentage aborts no request',
      fault: { abort: { httpStatus: 503, percent: 0 } },
      draws: [0],
      expected: none,
    },
    {
      name: 'Istio: delay at 100 % delays every request',
      fault: { delay: { fixedDelayMs: 7000, percent: 100 } },
      draws: [0.999_999],
      expected: { delayMs: 7000, abort: null },
    },
    {
      name: 'Istio: abort at 100 % aborts every request with its HTTP status',
      fault: { abort: { httpStatus: 500, percent: 100 } },
      draws: [0.999_999],
      expected: { delayMs: 0, abort: { httpStatus: 500 } },
    },
    {
      name: 'Istio: a 0 % fault never fires',
      fault: { delay: { fixedDelayMs: 10, percent: 0 }, abort: { httpStatus: 500, percent: 0 } },
      draws: [0],
      expected: none,
    },
    {
      name: 'Envoy: 50 % fires when the draw is below one half',
      fault: { abort: { httpStatus: 503, percent: 50 } },
      draws: [0.499_999],
      expected: { delayMs: 0, abort: { httpStatus: 503 } },
    },
    {
      name: 'Envoy: 50 % does not fire at one half',
      fault: { abort: { httpStatus: 503, percent: 50 } },
      draws: [0.5],
      expected: none,
    },
    {
      name: 'Istio: percentage.value 0.1 fires for the lowest thousandth of draws',
      fault: { delay: { fixedDelayMs: 100, percent: 0.1 } },
      draws: [0.000_999],
      expected: { delayMs: 100, abort: null },
    },
    {
      name: 'Istio: percentage.value 0.1 does not fire at a thousandth',
      fault: { delay: { fixedDelayMs: 100, percent: 0.1 } },
      draws: [0.001],
      expected: none,
    },
    {
      name: 'Istio: a percentage finer than one per million truncates to never',
      fault: { abort: { httpStatus: 500, percent: 0.000_01 } },
      draws: [0],
      expected: none,
    },
    {
      name: 'Envoy: delay and abort both firing delay first, then abort',
      fault: { delay: { fixedDelayMs: 2000, percent: 50 }, abort: { httpStatus: 503, percent: 50 } },
      draws: [0.1, 0.2],
      expected: { delayMs: 2000, abort: { httpStatus: 503 } },
    },
    {
      name: 'Envoy: delay and abort draw independently (delay fires, abort does not)',
      fault: { delay: { fixedDelayMs: 2000, percent: 50 }, abort: { httpStatus: 503, percent: 50 } },
      draws: [0.1, 0.9],
      expected: { delayMs: 2000, abort: null },
    },
    {
      name: 'Envoy: delay and abort draw independently (abort fires, delay does not)',
      fault: { delay: { fixedDelayMs: 2000, percent: 50 }, abort: { httpStatus: 503, percent: 50 } },
      draws: [0.9, 0.1],
      expected: { delayMs: 0, abort: { httpStatus: 503 } },
    },
    {
      name: 'Weft: a 100 % delay takes no draw, so the abort gets the first one',
      fault: { delay: { fixedDelayMs: 5, percent: 100 }, abort: { httpStatus: 429, percent: 50 } },
      draws: [0.4, 0.9],
      expected: { delayMs: 5, abort: { httpStatus: 429 } },
    },
    {
      name: 'Istio: abort.grpcStatus aborts a gRPC call with that status',
      fault: { abort: { grpcStatus: 'UNAVAILABLE', percent: 100 } },
      draws: [0],
      expected: { delayMs: 0, abort: { grpcStatus: 'UNAVAILABLE' } },
    },
    {
      name: 'Istio: a percentage above 100 behaves as 100',
      fault: { abort: { httpStatus: 500, percent: 150 } },
      draws: [0.999_999],
      expected: { delayMs: 0, abort: { httpStatus: 500 } },
    },
  ]
  for (const c of cases) {
    it(c.name, () => expect(decideFault(c.fault, sequence(...c.draws))).toEqual(c.expected))
  }

  it('Weft: the common no-fault answer is one shared frozen value', () => {
    expect(decideFault(undefined, Math.random)).toBe(
      decideFault({ delay: { fixedDelayMs: 1, percent: 0 } }, Math.random),
    )
    expect(Object.isFrozen(decideFault(undefined, Math.random))).toBe(true)
  })

  it('Envoy: a seeded run fires at the configured rate and replays exactly', () => {
    const fault: CompiledFault = {
      delay: { fixedDelayMs: 10, percent: 30 },
      abort: { httpStatus: 503, percent: 10 },
    }
    const decide = (seed: number) => {
      const random = mulberry32(seed)
      return Array.from({ length: 100_000 }, () => decideFault(fault, random))
    }
    const run = decide(2024)
    expect(decide(2024)).toEqual(run)
    expect(run.filter((d) => d.delayMs > 0).length / 100_000).toBeCloseTo(0.3, 2)
    expect(run.filter((d) => d.abort !== null).length / 100_000).toBeCloseTo(0.1, 2)
  })
})
