import { loadConfig, type RegistryEndpoint, resourceKey } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { configWithFindings, describeService, StateSnapshot } from './config-views.js'
import type { StoreState } from './store/config-store.js'
import { DURATION_BUCKETS_MS } from './traffic/duration-quantile.js'
import type { TrafficEdge } from './traffic/service-graph.js'
import type { InstanceClusters } from './traffic/traffic-window.js'

const CONFIG = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
    timeout: 2s
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: reviews, subset: v2}, weight: 20}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ghost, namespace: default}
spec:
  hosts: [ghost]
  http:
  - route: [{destination: {host: ghost, subset: nowhere}}]
`

const endpoints: RegistryEndpoint[] = [
  {
    service: 'reviews',
    namespace: 'default',
    address: '10.0.0.1',
    port: 9080,
    labels: { app: 'reviews', version: 'v1' },
  },
  {
    service: 'reviews',
    namespace: 'default',
    address: '10.0.0.2',
    port: 9080,
    labels: { app: 'reviews', version: 'v2' },
  },
  {
    service: 'reviews',
    namespace: 'default',
    address: '10.0.0.3',
    port: 9080,
    labels: { app: 'reviews', version: 'v2' },
  },
]

function state(): StoreState {
  const loaded = loadConfig([{ file: 'config.yaml', text: CONFIG }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  return {
    revision: 4,
    resources: new Map(loaded.resources.map((r) => [resourceKey(r), { resource: r, resourceVersion: '3' }])),
    endpoints: new Map(endpoints.map((e, i) => [`lease-${i}`, { lease: `lease-${i}`, endpoint: e }])),
  }
}

function toReviews(version: string, requests: number): TrafficEdge {
  return {
    reporter: 'destination',
    source: { namespace: 'default', workload: 'productpage-v1', app: 'productpage', version: 'v1' },
    destination: {
      service: 'reviews.default.svc.cluster.local',
      namespace: 'default',
      workload: `reviews-${version}`,
      app: 'reviews',
      version,
    },
    protocol: 'http',
    mtls: true,
    requests,
    errors: 0,
    codes: { 200: requests },
    flags: {},
    durationBuckets: new Float64Array(DURATION_BUCKETS_MS.length + 1),
  }
}

function clusters(instance: string, ejected: Record<string, number | null | undefined>): InstanceClusters {
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
    reportedAtMs: 0,
    clusters: [
      {
        cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local',
        service: 'reviews.default.svc.cluster.local',
        subset: 'v2',
        endpoints: ['10.0.0.2:9080', '10.0.0.3:9080'].map((address) => ({
          address,
          healthy: !(address in ejected),
          ejected: address in ejected,
          ejectedUntil: ejected[address] ?? null,
        })),
        breaker: null,
      },
    ],
  }
}

describe('describeService with the traffic window', () => {
  const s = state()
  const views = new StateSnapshot()

  it('lists the rules in force as written, each destination with the share it received', () => {
    const d = describeService(views.of(s), s, [], 'default', 'reviews', {
      nowMs: 1_000,
      edges: [toReviews('v1', 158), toReviews('v2', 42)],
      instances: [],
    })
    expect(d.routes).toEqual([
      {
        virtualService: 'VirtualService/default/reviews',
        http: [
          {
            rule: 'VirtualService/default/reviews#http[0]',
            kind: 'route',
            name: 'jason',
            match: [{ headers: { 'end-user': { exact: 'jason' } } }],
            timeout: '2s',
            destinations: [
              {
                host: 'reviews.default.svc.cluster.local',
                subset: 'v2',
                weight: 100,
                observedShare: 1,
                requests: 42,
              },
            ],
          },
          {
            rule: 'VirtualService/default/reviews#http[1]',
            kind: 'route',
            destinations: [
              {
                host: 'reviews.default.svc.cluster.local',
                subset: 'v1',
                weight: 80,
                observedShare: 0.79,
                requests: 158,
              },
              {
                host: 'reviews.default.svc.cluster.local',
                subset: 'v2',
                weight: 20,
                observedShare: 0.21,
                requests: 42,
              },
            ],
          },
        ],
      },
    ])
  })

  it('with no traffic, every share is null and every endpoint’s health unknown', () => {
    const d = describeService(views.of(s), s, [], 'default', 'reviews')
    expect(d.routes[0]?.http[1]?.destinations.map((x) => [x.observedShare, x.requests])).toEqual([
      [null, 0],
      [null, 0],
    ])
    expect(d.endpoints.map((e) => e.health)).toEqual(['unknown', 'unknown', 'unknown'])
  })

  it.each([
    {
      what: 'ejected by one instance',
      a: { '10.0.0.3:9080': 5_000 },
      b: {},
      health: 'ejected',
      by: ['pp-1'],
    },
    {
      what: 'ejected by two',
      a: { '10.0.0.3:9080': 5_000 },
      b: { '10.0.0.3:9080': null },
      health: 'ejected',
      by: ['pp-1', 'pp-2'],
    },
    {
      what: 'an ejection whose time is over',
      a: { '10.0.0.3:9080': 1_000 },
      b: {},
      health: 'healthy',
      by: [],
    },
  ])('subset endpoints merge the instances’ reports: $what', ({ a, b, health, by }) => {
    const d = describeService(views.of(s), s, [], 'default', 'reviews', {
      nowMs: 1_000,
      edges: [],
      instances: [clusters('pp-1', a), clusters('pp-2', b)],
    })
    const v2 = d.subsets.find((x) => x.name === 'v2')
    expect(v2?.endpoints).toEqual([
      {
        address: '10.0.0.2',
        port: 9080,
        labels: { app: 'reviews', version: 'v2' },
        health: 'healthy',
        ejectedBy: [],
      },
      { address: '10.0.0.3', port: 9080, labels: { app: 'reviews', version: 'v2' }, health, ejectedBy: by },
    ])
    // Nothing reported on v1's endpoint: unknown, not healthy.
    expect(d.subsets.find((x) => x.name === 'v1')?.endpoints[0]?.health).toBe('unknown')
    expect(d.endpoints.find((e) => e.address === '10.0.0.3')).toMatchObject({ health, ejectedBy: by })
  })
})

describe('configWithFindings', () => {
  it('puts analyze’s findings beside each resource, once per revision', () => {
    const s = state()
    const views = new StateSnapshot()
    const config = configWithFindings(views, s, undefined)
    expect(config.version).toBe(4)
    expect(config.resources.map((r) => `${r.kind}/${r.name}`)).toEqual([
      'DestinationRule/reviews',
      'VirtualService/ghost',
      'VirtualService/reviews',
    ])
    const ghost = config.resources.find((r) => r.name === 'ghost')
    expect(ghost).toMatchObject({ namespace: 'default', resourceVersion: '3' })
    expect(ghost?.findings.map((f) => f.code)).toContain('WFT0102')
    expect(ghost?.findings.every((f) => f.path.startsWith('spec.http[0]'))).toBe(true)
    expect(
      config.resources.find((r) => r.kind === 'VirtualService' && r.name === 'reviews')?.findings,
    ).toEqual([])
    expect(views.findings(s)).toBe(views.findings(s))
    expect(configWithFindings(views, s, 'other').resources).toEqual([])
  })
})
