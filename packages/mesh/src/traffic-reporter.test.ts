import type { ClusterHealth } from '@weft/client'
import { compileSnapshot } from '@weft/config'
import { createTelemetry, type Telemetry } from '@weft/telemetry'
import { describe, expect, it } from 'vitest'
import { MeshOptionsError } from './errors.js'
import { reportIntervalMs, type TrafficReport, TrafficReporter } from './traffic-reporter.js'

describe('reportIntervalMs', () => {
  it.each([
    { option: undefined, env: undefined, expected: 5000 },
    { option: undefined, env: '', expected: 5000 },
    { option: undefined, env: '250', expected: 250 },
    { option: 200, env: '9000', expected: 200 },
    { option: 0, env: undefined, expected: 0 },
    { option: 300_000, env: undefined, expected: 300_000 },
  ])('option $option, env $env → $expected', ({ option, env, expected }) => {
    expect(reportIntervalMs(option, env)).toBe(expected)
  })

  it.each([
    { option: 99, env: undefined, names: 'reportIntervalMs' },
    { option: 1.5, env: undefined, names: 'reportIntervalMs' },
    { option: 300_001, env: undefined, names: 'reportIntervalMs' },
    { option: Number.NaN, env: undefined, names: 'reportIntervalMs' },
    { option: undefined, env: 'soon', names: 'WEFT_REPORT_INTERVAL_MS' },
    { option: undefined, env: '-5', names: 'WEFT_REPORT_INTERVAL_MS' },
  ])('refuses option $option / env $env, naming $names', ({ option, env, names }) => {
    expect(() => reportIntervalMs(option, env)).toThrow(MeshOptionsError)
    expect(() => reportIntervalMs(option, env)).toThrow(new RegExp(`${names} must be a whole number`))
  })
})

function telemetry(): Telemetry {
  const snapshot = compileSnapshot([], { trusted: true })
  return createTelemetry({
    service: 'reviews',
    labels: { version: 'v1' },
    snapshot: () => snapshot,
    tracing: false,
  })
}

/** One inbound request through the real end-of-call path. */
function serve(t: Telemetry): void {
  t.inbound
    .start({ protocol: 'http', method: 'GET', path: '/', authority: 'reviews', headers: {} })
    .end({ status: 200 })
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('TrafficReporter', () => {
  it('sends one report per interval however many requests, none once nothing happens, and the rest on stop', async () => {
    const t = telemetry()
    const sent: TrafficReport[] = []
    const intervalMs = 100
    const reporter = new TrafficReporter({
      intervalMs,
      instance: 'reviews-1',
      edges: t.edges,
      clusters: () => [],
      send: async (report) => {
        sent.push(structuredClone(report))
        return 204
      },
    })
    reporter.start()
    const started = Date.now()
    let served = 0
    // About ten intervals of load: a burst of requests every millisecond or so.
    while (Date.now() - started < 10 * intervalMs) {
      for (let i = 0; i < 200; i++) serve(t)
      served += 200
      await sleep(1)
    }
    const intervals = (Date.now() - started) / intervalMs
    const underLoad = sent.length
    expect(served).toBeGreaterThan(10_000)
    // Timers drift under load: fewer reports than intervals, never more.
    expect(underLoad).toBeGreaterThanOrEqual(Math.floor(intervals / 2))
    expect(underLoad).toBeLessThanOrEqual(Math.ceil(intervals) + 1)
    await sleep(3.5 * intervalMs)
    // At most the interval that was under way when the load stopped; then silence.
    expect(sent.length - underLoad).toBeLessThanOrEqual(1)
    const quiet = sent.length
    await sleep(3 * intervalMs)
    expect(sent.length).toBe(quiet)
    await reporter.stop()
    const total = sent.flatMap((r) => r.edges).reduce((n, e) => n + e.requests, 0)
    expect(total).toBe(served)
    expect(sent.every((r) => r.instance === 'reviews-1' && r.intervalMs === intervalMs)).toBe(true)
    expect(sent[0]?.workload).toEqual({
      namespace: 'default',
      service: 'reviews',
      workload: 'reviews-v1',
      app: 'reviews',
      version: 'v1',
    })
  })

  it('reports a health change without traffic, again after a report the control plane did not take, then nothing', async () => {
    const t = telemetry()
    const ejected = (until: number): ClusterHealth[] => [
      {
        cluster: 'outbound|9080||ratings.default.svc.cluster.local',
        service: 'ratings.default.svc.cluster.local',
        subset: null,
        endpoints: [{ address: '127.0.0.1:1', healthy: false, ejected: true, ejectedUntil: until }],
        breaker: null,
      },
    ]
    let health: ClusterHealth[] = []
    // 503: not taken, so sent again (204); then a send that throws, sent again (204).
    const answers: (number | 'away')[] = [503, 204, 'away', 204]
    const sent: TrafficReport[] = []
    const reporter = new TrafficReporter({
      intervalMs: 100,
      instance: 'reviews-1',
      edges: t.edges,
      clusters: () => health,
      send: async (report) => {
        sent.push(report)
        const answer = answers.shift()
        if (answer === 'away') throw new Error('the control plane is away')
        return answer ?? 204
      },
    })
    reporter.start()
    await sleep(350)
    expect(sent).toHaveLength(0)
    health = ejected(1)
    await sleep(550)
    expect(sent).toHaveLength(2)
    health = ejected(2)
    await sleep(550)
    expect(sent).toHaveLength(4)
    expect(sent.every((r) => r.edges.length === 0 && r.clusters.length === 1)).toBe(true)
    expect(sent.map((r) => r.clusters[0]?.endpoints[0]?.ejectedUntil)).toEqual([1, 1, 2, 2])
    await reporter.stop()
    expect(sent).toHaveLength(4)
  })
})
