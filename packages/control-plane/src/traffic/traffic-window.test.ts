import { describe, expect, it } from 'vitest'
import { DURATION_BUCKETS_MS } from './duration-quantile.js'
import type { ReportedEdge, TrafficReport } from './traffic-report.js'
import { TrafficWindow } from './traffic-window.js'

function edge(to: string, requests: number, overrides: Partial<ReportedEdge> = {}): ReportedEdge {
  const durationBuckets = new Array(DURATION_BUCKETS_MS.length + 1).fill(0)
  durationBuckets[3] = requests
  return {
    reporter: 'source',
    source: { namespace: 'default', workload: 'productpage-v1', app: 'productpage', version: 'v1' },
    destination: {
      service: `${to}.default.svc.cluster.local`,
      namespace: 'default',
      workload: `${to}-v1`,
      app: to,
      version: 'v1',
    },
    protocol: 'http',
    mtls: false,
    requests,
    errors: 0,
    codes: { 200: requests },
    flags: {},
    durationBuckets,
    ...overrides,
  }
}

function report(edges: ReportedEdge[], instance = 'productpage-1', clusters: TrafficReport['clusters'] = []) {
  return {
    instance,
    workload: {
      namespace: 'default',
      service: 'productpage',
      workload: 'productpage-v1',
      app: 'productpage',
      version: 'v1',
    },
    intervalMs: 5000,
    edges,
    clusters,
  }
}

function requestsAt(window: TrafficWindow, nowMs: number, windowMs?: number): Record<string, number> {
  return Object.fromEntries(window.edges(nowMs, windowMs).map((e) => [e.destination.app, e.requests]))
}

describe('TrafficWindow: 5 s buckets over 60 s', () => {
  it.each([
    { what: 'two reports in one bucket add up', reports: [0, 4_999], nowMs: 4_999, expected: 2 },
    { what: 'reports in neighbouring buckets add up', reports: [0, 5_000], nowMs: 5_000, expected: 2 },
    { what: 'the oldest bucket is still in the window', reports: [0, 5_000], nowMs: 59_999, expected: 2 },
    {
      what: 'a bucket leaves the window when a new one starts',
      reports: [0, 5_000],
      nowMs: 60_000,
      expected: 1,
    },
    { what: 'both gone a window later', reports: [0, 5_000], nowMs: 65_000, expected: 0 },
    {
      what: 'a report lands in the slot of one 60 s older, replacing it',
      reports: [0, 60_000],
      nowMs: 60_000,
      expected: 1,
    },
  ])('$what', ({ reports, nowMs, expected }) => {
    const window = new TrafficWindow()
    for (const at of reports) window.add(report([edge('reviews', 1)]), at)
    expect(requestsAt(window, nowMs).reviews ?? 0).toBe(expected)
  })

  it('a shorter window sums only the buckets that started within it', () => {
    const window = new TrafficWindow()
    window.add(report([edge('reviews', 3)]), 1_000)
    window.add(report([edge('reviews', 4)]), 11_000)
    window.add(report([edge('reviews', 5)]), 16_000)
    expect(requestsAt(window, 17_000, 5_000)).toEqual({ reviews: 5 })
    expect(requestsAt(window, 17_000, 10_000)).toEqual({ reviews: 9 })
    expect(requestsAt(window, 17_000)).toEqual({ reviews: 12 })
  })

  it('the running sums of the whole window equal the sums of its buckets, through three minutes of rollovers', () => {
    const window = new TrafficWindow()
    let seed = 7
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const byKey = (edges: readonly { destination: { app: string }; reporter: string }[]) =>
      Object.fromEntries(edges.map((e) => [`${e.reporter}/${e.destination.app}`, e]))
    for (let at = 0; at < 180_000; at += Math.floor(random() * 3_000)) {
      const to = ['reviews', 'ratings', 'details'][Math.floor(random() * 3)] as string
      const errors = random() < 0.3 ? 1 : 0
      window.add(
        report([
          edge(to, 1 + Math.floor(random() * 9), {
            errors,
            ...(errors ? { flags: { UF: 1 }, codes: { 503: 1 } } : {}),
            reporter: random() < 0.5 ? 'source' : 'destination',
          }),
        ]),
        at,
      )
      // One millisecond short of the whole window sums the same twelve buckets, one by one.
      expect(byKey(window.edges(at))).toEqual(byKey(window.edges(at, 59_999)))
    }
  })

  it('sums codes, flags, errors and duration buckets per edge; reporters and protocols stay apart', () => {
    const window = new TrafficWindow()
    window.add(report([edge('reviews', 4, { errors: 1, codes: { 200: 3, 503: 1 }, flags: { UF: 1 } })]), 0)
    window.add(
      report([edge('reviews', 6, { errors: 2, codes: { 200: 4, 503: 2 }, flags: { UF: 2 } })]),
      5_000,
    )
    window.add(
      report([edge('reviews', 1, { reporter: 'destination' }), edge('reviews', 1, { protocol: 'grpc' })]),
      5_000,
    )
    const edges = window.edges(6_000)
    expect(edges).toHaveLength(3)
    const http = edges.find((e) => e.reporter === 'source' && e.protocol === 'http')
    expect(http).toMatchObject({ requests: 10, errors: 3, codes: { 200: 7, 503: 3 }, flags: { UF: 3 } })
    expect(http?.durationBuckets[3]).toBe(10)
  })

  it('caps distinct edges: a new one past the cap is refused with a log line, known ones keep counting', () => {
    const lines: string[] = []
    const window = new TrafficWindow({ maxEdges: 2, log: (l) => lines.push(l) })
    window.add(report([edge('reviews', 1), edge('ratings', 1)]), 0)
    window.add(report([edge('details', 1), edge('reviews', 1)]), 1_000)
    expect(requestsAt(window, 1_000)).toEqual({ reviews: 2, ratings: 1 })
    expect(lines.join('\n')).toMatch(/cap of 2 distinct edges/)
    // Once the old buckets leave the window, there is room again.
    window.add(report([edge('details', 1)]), 61_000)
    expect(requestsAt(window, 61_000)).toEqual({ details: 1 })
    expect(window.edgeCount).toBe(1)
  })

  it('keeps the latest clusters per instance and drops the one quiet longest past the instance cap', () => {
    const lines: string[] = []
    const window = new TrafficWindow({ maxInstances: 2, log: (l) => lines.push(l) })
    const cluster = (n: number) => [
      {
        cluster: 'outbound|9080||reviews.default.svc.cluster.local',
        service: 'reviews.default.svc.cluster.local',
        subset: null,
        endpoints: [{ address: `127.0.0.1:${n}`, healthy: true, ejected: false, ejectedUntil: null }],
        breaker: null,
      },
    ]
    window.add(report([], 'a', cluster(1)), 0)
    window.add(report([], 'b', cluster(2)), 1)
    window.add(report([], 'a', cluster(3)), 2)
    window.add(report([], 'c', cluster(4)), 3)
    const live = window.instances(4, () => true)
    expect(live.map((i) => i.instance).sort()).toEqual(['a', 'c'])
    expect(live.find((i) => i.instance === 'a')?.clusters[0]?.endpoints[0]?.address).toBe('127.0.0.1:3')
    expect(lines.join('\n')).toMatch(/cap of 2 instances .*; dropped default\/b/)
  })

  it('bounds the cluster endpoints held: past the budget the instances quiet longest are dropped', () => {
    const lines: string[] = []
    const window = new TrafficWindow({ maxEndpoints: 5, log: (l) => lines.push(l) })
    const cluster = (n: number) => [
      {
        cluster: 'outbound|9080||reviews.default.svc.cluster.local',
        service: 'reviews.default.svc.cluster.local',
        subset: null,
        endpoints: Array.from({ length: n }, (_, i) => ({
          address: `127.0.0.1:${i + 1}`,
          healthy: true,
          ejected: false,
          ejectedUntil: null,
        })),
        breaker: null,
      },
    ]
    window.add(report([], 'a', cluster(2)), 0)
    window.add(report([], 'b', cluster(2)), 1)
    // Replacing an instance's clusters frees what it held before.
    window.add(report([], 'a', cluster(3)), 2)
    expect(window.instances(3, () => true).map((i) => i.instance)).toEqual(['b', 'a'])
    expect(lines).toEqual([])
    window.add(report([], 'c', cluster(2)), 4)
    expect(window.instances(5, () => true).map((i) => i.instance)).toEqual(['a', 'c'])
    expect(lines.join('\n')).toMatch(/dropped default\/b/)
  })

  it.each([
    { what: 'watching: kept however quiet', connected: true, quietMs: 600_000, kept: true },
    { what: 'not watching, heard from within 15 s: kept', connected: false, quietMs: 15_000, kept: true },
    { what: 'not watching and quiet past 15 s: dropped', connected: false, quietMs: 15_001, kept: false },
  ])('an instance’s clusters lapse with it — $what', ({ connected, quietMs, kept }) => {
    const window = new TrafficWindow()
    window.add(report([], 'a'), 0)
    expect(window.instances(quietMs, () => connected).length).toBe(kept ? 1 : 0)
  })
})
