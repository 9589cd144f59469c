import { describe, expect, it } from 'vitest'
import { ConfigInvalidError } from '../errors.js'
import { loadConfig } from '../load-config.js'
import type { DestinationRule, Resource } from '../model/resource.js'
import { istioFiles } from '../test-support/istio-fixtures.js'
import { mergeTrafficPolicy } from './compile-destination-rule.js'
import { HostIndex } from './host-index.js'
import { resolveHost } from './host-name.js'
import { compileSnapshot } from './snapshot.js'

const bookinfo = Object.fromEntries(istioFiles('bookinfo').map((s) => [s.file.split('/').pop() as string, s]))
function resources(...names: string[]): Resource[] {
  const loaded = loadConfig(names.map((n) => bookinfo[n] as { file: string; text: string }))
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  return loaded.resources
}
function yaml(text: string): Resource[] {
  const loaded = loadConfig([{ file: 'inline.yaml', text }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  return loaded.resources
}

describe('resolveHost: Kubernetes and Istio host names', () => {
  const cases: [host: string, namespace: string, fqdn: string, why: string][] = [
    ['reviews', 'default', 'reviews.default.svc.cluster.local', 'a short name is in the caller’s namespace'],
    [
      'reviews',
      'prod',
      'reviews.prod.svc.cluster.local',
      'a short name follows the namespace it is written in',
    ],
    [
      'reviews.default',
      'prod',
      'reviews.default.svc.cluster.local',
      'name.namespace is another namespace’s service',
    ],
    ['db.internal', 'prod', 'db.internal', 'a one-dot name whose second label is no namespace is external'],
    [
      'reviews.default.svc',
      'prod',
      'reviews.default.svc.cluster.local',
      'the .svc form completes with the cluster domain',
    ],
    ['reviews.default.svc.cluster.local', 'prod', 'reviews.default.svc.cluster.local', 'an FQDN stays'],
    [
      'Reviews.Default.svc.cluster.local.',
      'x',
      'reviews.default.svc.cluster.local',
      'DNS is case-blind; a trailing dot is the root',
    ],
    ['api.example.com', 'default', 'api.example.com', 'an external name stays'],
    ['*.example.com', 'default', '*.example.com', 'wildcards stay'],
    ['10.0.0.1', 'default', '10.0.0.1', 'an IP stays'],
  ]
  const namespaces = new Set(['default', 'prod'])
  for (const [host, ns, fqdn, why] of cases) {
    it(`${host} in ${ns} → ${fqdn}: ${why}`, () =>
      expect(resolveHost(host, ns, 'cluster.local', namespaces)).toBe(fqdn))
  }
})

describe('HostIndex', () => {
  const index = new HostIndex<string>([
    ['*', 'any'],
    ['*.example.com', 'example'],
    ['*.api.example.com', 'api'],
    ['exact.api.example.com', 'exact'],
  ])
  const cases: [string, string[]][] = [
    ['exact.api.example.com', ['exact']],
    ['v1.api.example.com', ['api']],
    ['www.example.com', ['example']],
    ['example.com', ['any']],
    ['other.org', ['any']],
  ]
  for (const [host, want] of cases) {
    it(`${host}: exact first, then the most specific wildcard (Istio's host matching)`, () => {
      expect(index.lookup(host)).toEqual(want)
    })
  }
})

describe('compileSnapshot', () => {
  it('compiles Bookinfo: hosts indexed by FQDN, weights prefixed, subsets known', () => {
    const snapshot = compileSnapshot(
      resources('bookinfo.yaml', 'destination-rule-all.yaml', 'virtual-service-reviews-80-20.yaml'),
    )
    const vs = snapshot.virtualServiceFor('reviews.default.svc.cluster.local', 'default')
    const action = vs?.http[0]?.action
    expect(action?.kind).toBe('route')
    if (action?.kind !== 'route') return
    expect(action.destinations.cumulative).toEqual([80, 100])
    expect(action.destinations.destinations.map((d) => [d.host, d.subset])).toEqual([
      ['reviews.default.svc.cluster.local', 'v1'],
      ['reviews.default.svc.cluster.local', 'v2'],
    ])
    const dr = snapshot.destinationRuleFor('reviews.default.svc.cluster.local', 'default')
    expect([...(dr?.subsets.keys() ?? [])]).toEqual(['v1', 'v2', 'v3'])
    expect(snapshot.service('reviews.default.svc.cluster.local')?.ports.map((p) => p.number)).toEqual([9080])
    expect(snapshot.workloads.filter((w) => w.labels.app === 'reviews').map((w) => w.labels.version)).toEqual(
      ['v1', 'v2', 'v3'],
    )
  })

  it('matches headers, regexes in full (as RE2 in Envoy) and URIs ignoring case when asked', () => {
    const snapshot = compileSnapshot(
      yaml(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r}
spec:
  hosts: [r]
  http:
  - match:
    - uri: {regex: "/api/v[0-9]+"}
    - uri: {prefix: /Static}
      ignoreUriCase: true
    - headers: {End-User: {exact: jason}}
    route:
    - destination: {host: r}
`),
    )
    const [match1, match2, match3] =
      snapshot.virtualServiceFor('r.default.svc.cluster.local', 'default')?.http[0]?.matches ?? []
    expect([
      match1?.uri?.test('/api/v12'),
      match1?.uri?.test('/api/v12/x'),
      match1?.uri?.test('x/api/v1'),
    ]).toEqual([true, false, false])
    expect([
      match2?.uri?.test('/static/a.css'),
      match2?.uri?.test('/STATIC'),
      match2?.uri?.test('/stat'),
    ]).toEqual([true, true, false])
    expect(match3?.headers.map(([name, m]) => [name, m.test('jason'), m.test('Jason')])).toEqual([
      ['end-user', true, false],
    ])
    expect(String(match1?.uri)).toBe('regex "/api/v[0-9]+"')
  })

  it('compiles faults with Istio’s current semantics: an unset percentage never fires', () => {
    const snapshot = compileSnapshot(resources('virtual-service-ratings-test-delay.yaml'))
    const fault = snapshot.virtualServiceFor('ratings.default.svc.cluster.local', 'default')?.http[0]?.fault
    expect(fault).toEqual({ delay: { fixedDelayMs: 7000, percent: 100 } })
    const unset = compileSnapshot(
      yaml(
        'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [r]\n  http:\n  - fault: {abort: {httpStatus: 503}}\n    route:\n    - destination: {host: r}\n',
      ),
    )
    expect(unset.virtualServiceFor('r.default.svc.cluster.local', 'default')?.http[0]?.fault).toEqual({
      abort: { httpStatus: 503, percent: 0 },
    })
  })

  it('merges DestinationRule policies as Istio does: subset over rule, then port-level over both', () => {
    const snapshot = compileSnapshot(
      yaml(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {maxConnections: 100}}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}
  - name: v2
    labels: {version: v2}
`),
    )
    const dr = snapshot.destinationRuleFor('reviews.default.svc.cluster.local', 'default')
    expect(dr?.policy(undefined, undefined).loadBalancer).toEqual({ simple: 'ROUND_ROBIN' })
    expect(dr?.policy(undefined, 9080).loadBalancer).toEqual({ simple: 'LEAST_REQUEST' })
    expect(dr?.policy('v1', undefined).loadBalancer).toEqual({ simple: 'RANDOM' })
    expect(dr?.policy('v1', undefined).connectionPool).toEqual({ tcp: { maxConnections: 100 } })
    expect(dr?.policy('v1', 9080).loadBalancer).toEqual({ simple: 'LEAST_REQUEST' })
    expect(dr?.policy('v2', 8080).loadBalancer).toEqual({ simple: 'ROUND_ROBIN' })
  })

  it("compiles Weft's circuit-breaker annotation with its defaults", () => {
    const snapshot = compileSnapshot(
      yaml(
        'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: reviews\n  annotations: {weft.dev/circuit-breaker: \'{"resetTimeout": "5s"}\'}\nspec:\n  host: reviews\n',
      ),
    )
    expect(
      snapshot.destinationRuleFor('reviews.default.svc.cluster.local', 'default')?.circuitBreaker,
    ).toEqual({
      errorThresholdPercentage: 50,
      volumeThreshold: 20,
      resetTimeoutMs: 5000,
      rollingWindowMs: 10_000,
    })
  })

  it('ignores rules bound only to gateways and honours exportTo', () => {
    const snapshot = compileSnapshot([
      ...resources('bookinfo-gateway.yaml'),
      ...yaml(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: team-a}
spec:
  hosts: [ratings.default.svc.cluster.local]
  exportTo: ["."]
  http:
  - route:
    - destination: {host: ratings.default.svc.cluster.local, subset: v2}
`),
    ])
    expect(snapshot.virtualServices.hosts()).toEqual(['ratings.default.svc.cluster.local'])
    expect(snapshot.virtualServiceFor('ratings.default.svc.cluster.local', 'team-a')?.source).toBe(
      'VirtualService/team-a/private',
    )
    expect(snapshot.virtualServiceFor('ratings.default.svc.cluster.local', 'default')).toBeUndefined()
  })

  it('prefers the caller’s namespace when several VirtualServices route one host', () => {
    const make = (ns: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r, namespace: ${ns}}
spec:
  hosts: [ratings.default.svc.cluster.local]
  http:
  - route:
    - destination: {host: ratings.default.svc.cluster.local}
`
    const snapshot = compileSnapshot([...yaml(make('a')), ...yaml(make('b')), ...yaml(make('default'))])
    expect(snapshot.virtualServiceFor('ratings.default.svc.cluster.local', 'b')?.namespace).toBe('b')
    expect(snapshot.virtualServiceFor('ratings.default.svc.cluster.local', 'zzz')?.namespace).toBe('default')
  })

  it('takes endpoints from ServiceEntries, WorkloadEntries and the registry', () => {
    const snapshot = compileSnapshot(
      yaml(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db}
spec:
  hosts: [db.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
  workloadSelector: {labels: {app: db}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: db-vm-1}
spec:
  address: 10.1.0.7
  labels: {app: db, version: v1}
  ports: {tcp-pg: 6432}
`),
      {
        registry: [
          {
            service: 'reviews',
            namespace: 'default',
            address: '127.0.0.1',
            port: 9081,
            labels: { app: 'reviews', version: 'v2' },
            mtls: true,
          },
        ],
      },
    )
    expect(
      snapshot.service('db.internal')?.endpoints.map((e) => [e.address, e.ports['tcp-pg'], e.source]),
    ).toEqual([['10.1.0.7', 6432, 'WorkloadEntry/default/db-vm-1']])
    expect(snapshot.service('reviews.default.svc.cluster.local')?.endpoints).toMatchObject([
      { address: '127.0.0.1', port: 9081, mtls: true },
    ])
  })

  it('groups policies by workload: root namespace first, then the workload’s namespace, by selector', () => {
    const policy = (name: string, ns: string, app?: string) =>
      `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n${app ? `  selector: {matchLabels: {app: ${app}}}\n` : ''}  rules: [{}]\n---\n`
    const snapshot = compileSnapshot(
      yaml(
        policy('mesh', 'istio-system') +
          policy('ns', 'default') +
          policy('ratings', 'default', 'ratings') +
          policy('other', 'prod'),
      ),
    )
    const names = (labels: Record<string, string>, ns = 'default') =>
      snapshot.policiesFor(ns, labels).authorization.map((p) => p.metadata.name)
    expect(names({ app: 'ratings' })).toEqual(['mesh', 'ns', 'ratings'])
    expect(names({ app: 'reviews' })).toEqual(['mesh', 'ns'])
    expect(names({ app: 'x' }, 'prod')).toEqual(['mesh', 'other'])
  })

  it('leaves out policies with a targetRef: Istio attaches those to gateways and waypoints only', () => {
    const snapshot = compileSnapshot(
      yaml(
        'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: waypoint}\nspec:\n  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]\n  rules: [{}]\n',
      ),
    )
    expect(snapshot.policiesFor('default', { app: 'ratings' }).authorization).toEqual([])
  })

  it('versions by content: the same resources in any order agree; a change changes it', () => {
    const rs = resources('destination-rule-all.yaml', 'virtual-service-reviews-80-20.yaml')
    const a = compileSnapshot(rs).version
    expect(compileSnapshot([...rs].reverse()).version).toBe(a)
    expect(a).toMatch(/^[0-9a-f]{16}$/)
    const changed = resources('destination-rule-all.yaml', 'virtual-service-reviews-90-10.yaml')
    expect(compileSnapshot(changed).version).not.toBe(a)
  })

  it('versions by the annotations Weft reads too: a dry-run policy enforced is a new version', () => {
    const policy = (dryRun: string) =>
      yaml(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-delete
  annotations: {istio.io/dry-run: "${dryRun}"}
spec:
  action: DENY
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
`)
    const dryRun = compileSnapshot(policy('true'))
    const enforced = compileSnapshot(policy('false'))
    expect(enforced.version).not.toBe(dryRun.version)
    const breaker = (threshold: number) =>
      yaml(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings
  annotations: {weft.dev/circuit-breaker: '{"errorThresholdPercentage": ${threshold}}'}
spec:
  host: ratings
`)
    expect(compileSnapshot(breaker(50)).version).not.toBe(compileSnapshot(breaker(60)).version)
  })

  it('is immutable', () => {
    const snapshot = compileSnapshot(resources('virtual-service-reviews-80-20.yaml'))
    const route = snapshot.virtualServiceFor('reviews.default.svc.cluster.local', 'default')?.http[0]
    expect(Object.isFrozen(snapshot)).toBe(true)
    expect(Object.isFrozen(route)).toBe(true)
    expect(() => {
      ;(snapshot as { version: string }).version = 'x'
    }).toThrow(TypeError)
  })

  it('keeps the resources by kind and name only: their specs live on compiled', () => {
    const rs = resources('destination-rule-all.yaml', 'virtual-service-reviews-80-20.yaml').map((r) =>
      r.kind === 'VirtualService' ? { ...r, metadata: { ...r.metadata, resourceVersion: '7' } } : r,
    )
    const snapshot = compileSnapshot(rs)
    expect(snapshot.resources.map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`)).toEqual(
      rs.map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`).sort(),
    )
    expect(snapshot.resources.find((r) => r.kind === 'VirtualService')?.metadata.resourceVersion).toBe('7')
    expect(snapshot.resources.find((r) => r.kind === 'DestinationRule')?.metadata).not.toHaveProperty(
      'resourceVersion',
    )
    expect(snapshot.resources[0]).not.toHaveProperty('spec')
  })

  it('shares equal compiled parts between routes and keeps unequal ones apart', () => {
    const service = (name: string, retries: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [${name}]
  http:
  - match:
    - headers: {x-tenant: {exact: a}}
    route:
    - destination: {host: ${name}, subset: v1}
    retries: {attempts: ${retries}, retryOn: 5xx}
  - match:
    - headers: {x-tenant: {exact: b}}
    route:
    - destination: {host: ${name}, subset: v1}
    retries: {attempts: 2, retryOn: 5xx}
    headers: {request: {set: {x-rule: second}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}}
spec:
  host: ${name}
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}
  subsets:
  - {name: v1, labels: {version: v1}}
`
    const snapshot = compileSnapshot(yaml(`${service('a', 2)}---\n${service('b', 3)}`))
    const routes = (host: string) =>
      snapshot.virtualServiceFor(`${host}.default.svc.cluster.local`, 'default')?.http ?? []
    const [a1, a2] = routes('a')
    const [b1] = routes('b')
    const destinations = (r: typeof a1) =>
      r?.action.kind === 'route' ? r.action.destinations.destinations : undefined
    expect(a1?.retries).toBe(a2?.retries)
    expect(b1?.retries).not.toBe(a1?.retries)
    expect(b1?.retries).toEqual({ ...a1?.retries, attempts: 3 })
    expect(a1?.matches[0]?.headers[0]?.[1]).toBe(b1?.matches[0]?.headers[0]?.[1])
    expect(a1?.matches[0]).not.toBe(a2?.matches[0])
    expect(destinations(a1)?.[0]).toBe(destinations(a2)?.[0])
    expect(destinations(a1)?.[0]).not.toBe(destinations(b1)?.[0])
    expect(a1?.requestHeaders).toBeUndefined()
    expect(a2?.requestHeaders?.set).toEqual([['x-rule', 'second']])
    const dr = (host: string) => snapshot.destinationRuleFor(`${host}.default.svc.cluster.local`, 'default')
    expect(dr('a')?.policy('v1', undefined)).toBe(dr('b')?.policy(undefined, 80))
    expect(dr('a')?.subsets).toBe(dr('b')?.subsets)
    expect(dr('a')?.host).not.toBe(dr('b')?.host)
  })

  it('answers, for every subset and port, the policy mergeTrafficPolicy makes', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {maxConnections: 100}}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {simple: LEAST_REQUEST}
    - port: {number: 9443}
      connectionPool: {tcp: {maxConnections: 100}}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 8080}
        outlierDetection: {consecutive5xxErrors: 3}
  - name: v3
    labels: {version: v3}
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN}
      connectionPool: {tcp: {maxConnections: 100}}
`
    const [resource] = yaml(text) as [DestinationRule]
    const spec = resource.spec
    const dr = compileSnapshot([resource]).destinationRuleFor('reviews.default.svc.cluster.local', 'default')
    for (const subset of [undefined, 'v1', 'v2', 'v3', 'unknown']) {
      for (const port of [undefined, 80, 8080, 9080, 9443]) {
        const subsetPolicy = spec.subsets?.find((s) => s.name === subset)?.trafficPolicy
        expect(dr?.policy(subset, port), `${subset}:${port}`).toEqual(
          mergeTrafficPolicy(spec.trafficPolicy, subsetPolicy, port),
        )
      }
    }
  })

  it('refuses invalid resources whole, with every error, and compiles nothing', () => {
    const good = resources('virtual-service-reviews-80-20.yaml')
    const bad = {
      ...good[0],
      metadata: { name: 'bad', namespace: 'default' },
      spec: {
        hosts: ['reviews'],
        http: [
          { route: [{ destination: { host: 'reviews' }, weight: -1 }, { destination: { host: 'ratings' } }] },
        ],
      },
    } as Resource
    let error: unknown
    try {
      compileSnapshot([...good, bad])
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigInvalidError)
    expect((error as ConfigInvalidError).code).toBe('WEFT_CONFIG_INVALID')
    expect((error as ConfigInvalidError).message).toContain(
      'VirtualService/default/bad: spec.http[0].route[0].weight: weight -1 < 0',
    )
  })
})
