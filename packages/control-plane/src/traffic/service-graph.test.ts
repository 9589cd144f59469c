import { compileSnapshot, type RegistryEndpoint } from '@weft/config'
import { describe, expect, it } from 'vitest'
import type { WorkloadStatus } from '../workload-status.js'
import { DURATION_BUCKETS_MS } from './duration-quantile.js'
import { edgeHealth, preferReporters, serviceGraph, type TrafficEdge } from './service-graph.js'
import type { WindowEdge } from './traffic-window.js'

function windowEdge(
  reporter: 'source' | 'destination',
  to: string,
  requests: number,
  errors = 0,
  overrides: Partial<WindowEdge> = {},
): WindowEdge {
  const [app, version] = to.split('-') as [string, string]
  const durationBuckets = new Float64Array(DURATION_BUCKETS_MS.length + 1)
  durationBuckets[3] = requests
  return {
    reporter,
    source: { namespace: 'default', workload: 'productpage-v1', app: 'productpage', version: 'v1' },
    destination: {
      service: `${app}.default.svc.cluster.local`,
      namespace: 'default',
      workload: to,
      app,
      version,
    },
    protocol: 'http',
    mtls: reporter === 'destination',
    requests,
    errors,
    codes: { 200: requests - errors, ...(errors ? { 503: errors } : {}) },
    flags: {},
    durationBuckets,
    ...overrides,
  }
}

describe('preferReporters', () => {
  it.each([
    {
      what: 'only the source saw it: the source’s figures',
      edges: [windowEdge('source', 'reviews-v1', 10, 1)],
      expected: { reporter: 'source', requests: 10, errors: 1, mtls: false },
    },
    {
      what: 'both saw it: the destination’s figures',
      edges: [windowEdge('source', 'reviews-v1', 12, 3), windowEdge('destination', 'reviews-v1', 10, 1)],
      expected: { reporter: 'destination', requests: 10, errors: 1, mtls: true },
    },
    {
      what: 'the destination saw it over mTLS and in plaintext: summed, not all mTLS',
      edges: [
        windowEdge('destination', 'reviews-v1', 10),
        windowEdge('destination', 'reviews-v1', 5, 0, { mtls: false }),
        windowEdge('source', 'reviews-v1', 20),
      ],
      expected: { reporter: 'destination', requests: 15, errors: 0, mtls: false },
    },
  ])('$what', ({ edges, expected }) => {
    const merged = preferReporters(edges)
    expect(merged).toHaveLength(1)
    expect(merged[0]).toMatchObject(expected)
  })

  it('keeps different destinations and protocols apart', () => {
    const merged = preferReporters([
      windowEdge('source', 'reviews-v1', 1),
      windowEdge('source', 'reviews-v2', 1),
      windowEdge('source', 'reviews-v1', 1, 0, { protocol: 'grpc' }),
    ])
    expect(merged).toHaveLength(3)
  })
})

describe('edgeHealth: Kiali’s default tolerance for application errors', () => {
  it.each([
    { requests: 1000, errors: 0, expected: 'healthy' },
    { requests: 100_000, errors: 99, expected: 'healthy' },
    { requests: 1000, errors: 1, expected: 'degraded' },
    { requests: 1000, errors: 100, expected: 'degraded' },
    { requests: 1000, errors: 101, expected: 'failing' },
    { requests: 3, errors: 3, expected: 'failing' },
    { requests: 0, errors: 0, expected: 'healthy' },
  ])('$errors errors of $requests: $expected', ({ requests, errors, expected }) => {
    expect(edgeHealth(requests, errors)).toBe(expected)
  })
})

const registry: RegistryEndpoint[] = [
  {
    service: 'reviews',
    namespace: 'default',
    address: '127.0.0.1',
    port: 1,
    labels: { app: 'reviews', version: 'v1' },
  },
  {
    service: 'reviews',
    namespace: 'default',
    address: '127.0.0.1',
    port: 2,
    labels: { app: 'reviews', version: 'v2' },
  },
  {
    service: 'ratings',
    namespace: 'default',
    address: '127.0.0.1',
    port: 3,
    labels: { app: 'ratings', version: 'v1' },
  },
  { service: 'billing', namespace: 'shop', address: '127.0.0.1', port: 4, labels: { app: 'billing' } },
]

const watching: WorkloadStatus = {
  instance: 'productpage-1',
  service: 'productpage',
  namespace: 'default',
  labels: { app: 'productpage', version: 'v1' },
  sent: 7,
  applied: 6,
  state: 'NACK',
  reason: 'spec.http[0]: bad',
  connected: true,
  lastSeenMs: 0,
}

function graph(edges: TrafficEdge[], namespace?: string) {
  return serviceGraph({
    version: 7,
    nowMs: 1_000,
    windowSeconds: 60,
    spanSeconds: 60,
    edges,
    snapshot: compileSnapshot([], { trusted: true, registry }),
    endpoints: registry,
    statuses: [watching, { ...watching, instance: 'gone', connected: false }],
    instances: [],
    ...(namespace ? { namespace } : {}),
  })
}

describe('serviceGraph', () => {
  it('shows every service and registered or watching workload, idle without traffic', () => {
    const g = graph([])
    expect(g).toMatchObject({ version: 7, generatedAt: 1_000, windowSeconds: 60, edges: [] })
    expect(g.nodes.map((n) => n.id)).toEqual([
      'svc:default/productpage',
      'svc:default/ratings',
      'svc:default/reviews',
      'svc:shop/billing',
      'wl:default/productpage-v1',
      'wl:default/ratings-v1',
      'wl:default/reviews-v1',
      'wl:default/reviews-v2',
      'wl:shop/billing',
    ])
    expect(g.nodes.every((n) => n.health === 'idle')).toBe(true)
    expect(g.nodes.find((n) => n.id === 'wl:default/productpage-v1')).toEqual({
      id: 'wl:default/productpage-v1',
      kind: 'workload',
      namespace: 'default',
      service: 'productpage',
      workload: 'productpage-v1',
      app: 'productpage',
      version: 'v1',
      parent: 'svc:default/productpage',
      instances: 1,
      config: { version: 6, state: 'NACK', reason: 'spec.http[0]: bad' },
      health: 'idle',
    })
  })

  it('edges carry rate, errors, latency and the share of calls to the service; nodes the worst incoming health', () => {
    const g = graph(
      preferReporters([
        windowEdge('destination', 'reviews-v1', 80),
        windowEdge('destination', 'reviews-v2', 20, 5),
        windowEdge('source', 'ratings-v1', 60),
      ]),
    )
    const byId = Object.fromEntries(g.edges.map((e) => [e.id, e]))
    expect(byId['wl:default/productpage-v1->wl:default/reviews-v1']).toEqual({
      id: 'wl:default/productpage-v1->wl:default/reviews-v1',
      source: 'wl:default/productpage-v1',
      target: 'wl:default/reviews-v1',
      service: 'reviews.default.svc.cluster.local',
      protocol: 'http',
      mtls: true,
      rps: 1.333,
      requests: 80,
      errors: 0,
      errorRate: 0,
      p50Ms: 7.5,
      p99Ms: 9.95,
      share: 0.8,
      health: 'healthy',
    })
    expect(byId['wl:default/productpage-v1->wl:default/reviews-v2']).toMatchObject({
      share: 0.2,
      errorRate: 0.25,
      health: 'failing',
    })
    expect(byId['wl:default/productpage-v1->wl:default/ratings-v1']).toMatchObject({ share: 1, mtls: false })
    const health = Object.fromEntries(g.nodes.map((n) => [n.id, n.health]))
    expect(health).toMatchObject({
      'svc:default/reviews': 'failing',
      'wl:default/reviews-v1': 'healthy',
      'wl:default/reviews-v2': 'failing',
      'wl:default/productpage-v1': 'healthy',
      'svc:default/ratings': 'healthy',
      'svc:shop/billing': 'idle',
    })
  })

  it('a caller no one registered appears only once it reported; a destination workload no one knows is its service', () => {
    const g = graph([
      ...preferReporters([
        windowEdge('destination', 'reviews-v1', 5, 0, {
          source: { namespace: 'unknown', workload: 'unknown', app: 'unknown', version: 'unknown' },
        }),
        windowEdge('source', 'unknown-unknown', 3, 3, {
          destination: {
            service: 'ratings.default.svc.cluster.local',
            namespace: 'unknown',
            workload: 'unknown',
            app: 'unknown',
            version: 'unknown',
          },
          flags: { UH: 3 },
        }),
      ]),
    ])
    expect(g.edges.map((e) => e.id).sort()).toEqual([
      'wl:default/productpage-v1->svc:default/ratings',
      'wl:unknown/unknown->wl:default/reviews-v1',
    ])
    const caller = g.nodes.find((n) => n.id === 'wl:unknown/unknown')
    expect(caller).toMatchObject({ kind: 'workload', health: 'healthy' })
    expect(caller?.parent).toBeUndefined()
    expect(g.nodes.find((n) => n.id === 'svc:default/ratings')?.health).toBe('failing')
  })

  it('a namespace view keeps what touches the namespace, with the parents of its nodes', () => {
    const g = graph(
      preferReporters([
        windowEdge('source', 'billing-v1', 4, 0, {
          destination: {
            service: 'billing.shop.svc.cluster.local',
            namespace: 'shop',
            workload: 'billing',
            app: 'billing',
            version: 'unknown',
          },
        }),
      ]),
      'shop',
    )
    expect(g.nodes.map((n) => n.id)).toEqual([
      'svc:default/productpage',
      'svc:shop/billing',
      'wl:default/productpage-v1',
      'wl:shop/billing',
    ])
    expect(g.edges.map((e) => e.id)).toEqual(['wl:default/productpage-v1->wl:shop/billing'])
  })
})
