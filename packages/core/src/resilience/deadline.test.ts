import { describe, expect, it } from 'vitest'
import {
  attemptTimeoutMs,
  formatGrpcTimeout,
  parseGrpcTimeout,
  parseHttpDeadline,
  remainingMs,
} from './deadline.js'

describe('deadline propagation', () => {
  it('Weft: the remaining time never goes below zero; no deadline, no remaining time', () => {
    expect([remainingMs(1500, 1000), remainingMs(1000, 1500), remainingMs(undefined, 0)]).toEqual([
      500,
      0,
      undefined,
    ])
  })
  const attempts: [
    perTry: number | undefined,
    left: number | undefined,
    want: number | undefined,
    why: string,
  ][] = [
    [200, 500, 200, 'Envoy: the per-try timeout bounds a try'],
    [200, 120, 120, 'Envoy: a try never outlives the route timeout'],
    [undefined, 300, 300, 'Envoy: without a per-try timeout a try has what is left'],
    [250, undefined, 250, 'Envoy: without a route timeout the per-try timeout stands'],
    [undefined, undefined, undefined, 'Istio: neither set means no timeout'],
  ]
  for (const [perTry, left, want, why] of attempts)
    it(why, () => expect(attemptTimeoutMs(perTry, left)).toBe(want))

  const grpc: [ms: number, header: string][] = [
    [0, '0m'],
    [1, '1m'],
    [1500, '1500m'],
    [99_999_999, '99999999m'],
    [100_000_000, '100000S'],
    [0.4, '1m'],
  ]
  for (const [ms, header] of grpc)
    it(`gRPC: ${ms} ms is sent as grpc-timeout ${header}`, () => expect(formatGrpcTimeout(ms)).toBe(header))

  const parsed: [header: string, ms: number | undefined][] = [
    ['100m', 100],
    ['2S', 2000],
    ['1M', 60_000],
    ['1H', 3_600_000],
    ['5000u', 5],
    ['123456789m', undefined],
    ['10', undefined],
    ['1s', undefined],
  ]
  for (const [header, ms] of parsed)
    it(`gRPC: grpc-timeout ${header} reads as ${ms}`, () => expect(parseGrpcTimeout(header)).toBe(ms))

  it('Envoy: x-envoy-expected-rq-timeout-ms is whole milliseconds', () => {
    expect([
      parseHttpDeadline('250'),
      parseHttpDeadline('-1'),
      parseHttpDeadline('1.5'),
      parseHttpDeadline(''),
    ]).toEqual([250, undefined, undefined, undefined])
  })
})
