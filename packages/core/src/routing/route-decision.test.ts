import { compileSnapshot, loadConfig, type Snapshot, type SnapshotOptions } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { sequence } from '../test-support/seeded-random.js'
import { type RouteDecision, routeRequest } from './route-decision.js'
import { type RouteRequest, splitAuthority } from './route-request.js'

function snapshotOf(yaml: string, options: SnapshotOptions = {}): Snapshot {
  const loaded = loadConfig([{ file: 'routes.yaml', text: yaml }])
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error')
  if (errors.length) throw new Error(JSON.stringify(errors))
  return compileSnapshot(loaded.resources, options)
}

interface Req {
  method?: string
  scheme?: string
  authority?: string
  path?: string
  headers?: Record<string, string>
  namespace?: string
  labels?: Record<string, string>
}

function request(r: Req = {}): RouteRequest {
  const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  return {
    method: r.method ?? 'GET',
    scheme: r.scheme ?? 'http',
    authority: r.authority ?? 'reviews:9080',
    path: r.path ?? '/',
    header: (name) => headers[name],
    source: { namespace: r.namespace ?? 'default', labels: r.labels ?? {} },
  }
}

const vs = (http: string, hosts = '[reviews]', extra = '') =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: ${hosts}\n${extra}  http:\n${http}`
const to = (subset: string) => `    route:\n    - destination: {host: reviews, subset: ${subset}}\n`
/** Two rules: the first with `match`, routing to "hit"; a catch-all routing to "miss". */
const matchRule = (match: string) =>
  vs(`  - match:\n${match}${to('hit')}  - route:\n    - destination: {host: reviews, subset: miss}\n`)

function subsetOf(decision: RouteDecision): string | undefined {
  return decision.kind === 'forward' ? decision.target.subset : decision.kind
}

describe('route matching (VirtualService HTTPMatchRequest, as Envoy matches it)', () => {
  const cases: { name: string; match: string; req: Req; hit: boolean }[] = [
    {
      name: 'Istio: uri exact matches the same path',
      match: '    - uri: {exact: /ratings}\n',
      req: { path: '/ratings' },
      hit: true,
    },
    {
      name: 'Istio: uri exact refuses a longer path',
      match: '    - uri: {exact: /ratings}\n',
      req: { path: '/ratings/1' },
      hit: false,
    },
    {
      name: 'Envoy: the query string is not part of the uri match',
      match: '    - uri: {exact: /ratings}\n',
      req: { path: '/ratings?x=1' },
      hit: true,
    },
    { name: 'Istio: uri prefix', match: '    - uri: {prefix: /api/}\n', req: { path: '/api/v1' }, hit: true },
    {
      name: 'Istio: uri prefix is case-sensitive by default',
      match: '    - uri: {prefix: /api/}\n',
      req: { path: '/API/v1' },
      hit: false,
    },
    {
      name: 'Istio: ignoreUriCase makes a prefix case-blind',
      match: '    - uri: {prefix: /api/}\n      ignoreUriCase: true\n',
      req: { path: '/API/v1' },
      hit: true,
    },
    {
      name: 'Istio: ignoreUriCase makes exact case-blind',
      match: '    - uri: {exact: /Login}\n      ignoreUriCase: true\n',
      req: { path: '/login' },
      hit: true,
    },
    {
      name: 'Envoy: a uri regex must match the whole path',
      match: '    - uri: {regex: "/ratings/[0-9]+"}\n',
      req: { path: '/ratings/12' },
      hit: true,
    },
    {
      name: 'Envoy: a uri regex matching part of the path does not match',
      match: '    - uri: {regex: "/ratings/[0-9]+"}\n',
      req: { path: '/ratings/12/x' },
      hit: false,
    },
    {
      name: 'Istio: method exact',
      match: '    - method: {exact: POST}\n',
      req: { method: 'POST' },
      hit: true,
    },
    {
      name: 'Istio: method exact is case-sensitive',
      match: '    - method: {exact: POST}\n',
      req: { method: 'post' },
      hit: false,
    },
    {
      name: 'Istio: scheme exact',
      match: '    - scheme: {exact: https}\n',
      req: { scheme: 'https', authority: 'reviews:9080' },
      hit: true,
    },
    { name: 'Istio: scheme mismatch', match: '    - scheme: {exact: https}\n', req: {}, hit: false },
    {
      name: 'Envoy: authority matches the :authority as sent, port included',
      match: '    - authority: {exact: "reviews:9080"}\n',
      req: {},
      hit: true,
    },
    { name: 'Envoy: authority prefix', match: '    - authority: {prefix: reviews}\n', req: {}, hit: true },
    {
      name: 'Istio: header exact (Bookinfo end-user: jason)',
      match: '    - headers: {end-user: {exact: jason}}\n',
      req: { headers: { 'end-user': 'jason' } },
      hit: true,
    },
    {
      name: 'Istio: header values are case-sensitive',
      match: '    - headers: {end-user: {exact: jason}}\n',
      req: { headers: { 'end-user': 'Jason' } },
      hit: false,
    },
    {
      name: 'Istio: header names are case-blind',
      match: '    - headers: {End-User: {exact: jason}}\n',
      req: { headers: { 'end-user': 'jason' } },
      hit: true,
    },
    {
      name: 'Istio: a header match fails when the header is absent',
      match: '    - headers: {end-user: {exact: jason}}\n',
      req: {},
      hit: false,
    },
    {
      name: 'Istio: header prefix',
      match: '    - headers: {user-agent: {prefix: Mozilla}}\n',
      req: { headers: { 'user-agent': 'Mozilla/5.0' } },
      hit: true,
    },
    {
      name: 'Istio: header regex is a full match',
      match: '    - headers: {x-id: {regex: "[0-9]{3}"}}\n',
      req: { headers: { 'x-id': '1234' } },
      hit: false,
    },
    {
      name: 'Istio: an empty header match means the header is present',
      match: '    - headers: {x-canary: {}}\n',
      req: { headers: { 'x-canary': '' } },
      hit: true,
    },
    {
      name: 'Istio: an empty header match fails when absent',
      match: '    - headers: {x-canary: {}}\n',
      req: {},
      hit: false,
    },
    {
      name: 'Istio: withoutHeaders presence matches an absent header',
      match: '    - withoutHeaders: {x-debug: {}}\n',
      req: {},
      hit: true,
    },
    {
      name: 'Istio: withoutHeaders presence refuses a present header',
      match: '    - withoutHeaders: {x-debug: {}}\n',
      req: { headers: { 'x-debug': '1' } },
      hit: false,
    },
    {
      name: 'Envoy: withoutHeaders exact matches a different value',
      match: '    - withoutHeaders: {end-user: {exact: jason}}\n',
      req: { headers: { 'end-user': 'ann' } },
      hit: true,
    },
    {
      name: 'Envoy: withoutHeaders exact refuses the same value',
      match: '    - withoutHeaders: {end-user: {exact: jason}}\n',
      req: { headers: { 'end-user': 'jason' } },
      hit: false,
    },
    {
      name: 'Envoy: invert_match on an absent header does not match a value matcher',
      match: '    - withoutHeaders: {end-user: {exact: jason}}\n',
      req: {},
      hit: false,
    },
    {
      name: 'Istio: queryParams exact',
      match: '    - queryParams: {version: {exact: v2}}\n',
      req: { path: '/r?version=v2' },
      hit: true,
    },
    {
      name: 'Istio: queryParams regex',
      match: '    - queryParams: {id: {regex: "[0-9]+"}}\n',
      req: { path: '/r?id=42&x=y' },
      hit: true,
    },
    {
      name: 'Istio: queryParams absent',
      match: '    - queryParams: {id: {regex: "[0-9]+"}}\n',
      req: { path: '/r' },
      hit: false,
    },
    {
      name: 'Istio: port matches the port the caller addressed',
      match: '    - port: 9080\n',
      req: {},
      hit: true,
    },
    {
      name: 'Istio: port uses the scheme default when none is written',
      match: '    - port: 80\n',
      req: { authority: 'reviews' },
      hit: true,
    },
    {
      name: 'Istio: sourceLabels must all be on the caller',
      match: '    - sourceLabels: {app: productpage}\n',
      req: { labels: { app: 'productpage', version: 'v1' } },
      hit: true,
    },
    {
      name: 'Istio: sourceLabels refuse a caller lacking one',
      match: '    - sourceLabels: {app: productpage, version: v2}\n',
      req: { labels: { app: 'productpage', version: 'v1' } },
      hit: false,
    },
    { name: 'Istio: sourceNamespace', match: '    - sourceNamespace: default\n', req: {}, hit: true },
    { name: 'Istio: sourceNamespace mismatch', match: '    - sourceNamespace: prod\n', req: {}, hit: false },
    {
      name: 'Istio: entries of one match list are ORed',
      match: '    - uri: {exact: /a}\n    - uri: {exact: /b}\n',
      req: { path: '/b' },
      hit: true,
    },
    {
      name: 'Istio: fields within one entry are ANDed',
      match: '    - uri: {exact: /a}\n      method: {exact: POST}\n',
      req: { path: '/a' },
      hit: false,
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const decision = routeRequest(snapshotOf(matchRule(c.match)), request(c.req), () => 0)
      expect(subsetOf(decision)).toBe(c.hit ? 'hit' : 'miss')
    })
  }

  it('Istio: rules are tried in order and the first match wins', () => {
    const s = snapshotOf(
      vs(
        `  - match:\n    - uri: {prefix: /}\n${to('first')}  - match:\n    - uri: {exact: /x}\n${to('second')}`,
      ),
    )
    expect(subsetOf(routeRequest(s, request({ path: '/x' }), () => 0))).toBe('first')
  })

  it('Envoy: no rule matching is a 404 (NR), naming the VirtualService', () => {
    const s = snapshotOf(vs(`  - match:\n    - uri: {exact: /only}\n${to('v1')}`))
    expect(routeRequest(s, request({ path: '/other' }), () => 0)).toEqual({
      kind: 'no-route',
      host: 'reviews.default.svc.cluster.local',
      virtualService: 'VirtualService/default/reviews',
    })
  })
})

describe('route actions', () => {
  const split = vs(
    '  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 80\n    - destination: {host: reviews, subset: v2}\n      weight: 20\n',
  )
  const weightCases: [name: string, yaml: string, draw: number, subset: string][] = [
    ['Istio: 80/20 — a draw below 0.8 goes to v1', split, 0.7999, 'v1'],
    ['Istio: 80/20 — a draw of 0.8 goes to v2', split, 0.8, 'v2'],
    [
      'Istio: weights are relative — 1:3 sends a draw of 0.3 to the second',
      vs(
        '  - route:\n    - destination: {host: reviews, subset: a}\n      weight: 1\n    - destination: {host: reviews, subset: b}\n      weight: 3\n',
      ),
      0.3,
      'b',
    ],
    [
      'Istio: a 0-weight destination gets no traffic',
      vs(
        '  - route:\n    - destination: {host: reviews, subset: a}\n      weight: 0\n    - destination: {host: reviews, subset: b}\n      weight: 5\n',
      ),
      0,
      'b',
    ],
    [
      'Istio: a single destination takes all traffic whatever its weight',
      vs('  - route:\n    - destination: {host: reviews, subset: only}\n      weight: 0\n'),
      0.99,
      'only',
    ],
  ]
  for (const [name, yaml, draw, subset] of weightCases) {
    it(name, () => expect(subsetOf(routeRequest(snapshotOf(yaml), request(), () => draw))).toBe(subset))
  }

  const redirect = (spec: string, match = '') =>
    vs(`  - ${match ? `match:\n    - uri: {prefix: ${match}}\n    ` : ''}redirect:\n${spec}`)
  const redirectCases: [name: string, yaml: string, req: Req, status: number, location: string][] = [
    [
      'Istio: redirect uri replaces the path, 301 by default, port kept',
      redirect('      uri: /v2/reviews\n'),
      { path: '/v1/reviews?x=1' },
      301,
      'http://reviews:9080/v2/reviews?x=1',
    ],
    [
      'Istio: redirectCode',
      redirect('      uri: /new\n      redirectCode: 308\n'),
      {},
      308,
      'http://reviews:9080/new',
    ],
    [
      'Istio: redirect to another authority and scheme drops the request port',
      redirect('      authority: example.com\n      scheme: https\n'),
      { path: '/p' },
      301,
      'https://example.com/p',
    ],
    [
      'Istio: redirect port',
      redirect('      authority: example.com\n      port: 8443\n      scheme: https\n'),
      { path: '/p' },
      301,
      'https://example.com:8443/p',
    ],
    [
      'Istio: derivePort FROM_PROTOCOL_DEFAULT omits the port',
      redirect('      scheme: https\n      derivePort: FROM_PROTOCOL_DEFAULT\n'),
      { path: '/p' },
      301,
      'https://reviews/p',
    ],
    [
      'Istio: prefixRewrite replaces the matched prefix',
      redirect('      prefixRewrite: /v2/\n', '/v1/'),
      { path: '/v1/items/3' },
      301,
      'http://reviews:9080/v2/items/3',
    ],
  ]
  for (const [name, yaml, req, status, location] of redirectCases) {
    it(name, () =>
      expect(routeRequest(snapshotOf(yaml), request(req), () => 0)).toMatchObject({
        kind: 'redirect',
        status,
        location,
      }),
    )
  }

  it('Istio: directResponse answers with its status and body', () => {
    const s = snapshotOf(
      vs('  - directResponse:\n      status: 503\n      body: {string: "down for maintenance"}\n'),
    )
    expect(routeRequest(s, request(), () => 0)).toMatchObject({
      kind: 'direct-response',
      status: 503,
      body: 'down for maintenance',
      rule: 'VirtualService/default/reviews#http[0]',
    })
  })

  const rewriteCases: [name: string, rule: string, path: string, want: string][] = [
    [
      'Istio: rewrite.uri replaces a matched prefix',
      '  - match:\n    - uri: {prefix: /ratings}\n    rewrite: {uri: /v1/bookRatings}\n',
      '/ratings/0?a=b',
      '/v1/bookRatings/0?a=b',
    ],
    [
      'Istio: rewrite.uri replaces the whole path after an exact match, query kept',
      '  - match:\n    - uri: {exact: /old}\n    rewrite: {uri: /new}\n',
      '/old?a=b',
      '/new?a=b',
    ],
    [
      'Envoy: uriRegexRewrite substitutes capture groups',
      '  - match:\n    - uri: {prefix: /service}\n    rewrite:\n      uriRegexRewrite: {match: "^/service/([^/]+)(/.*)$", rewrite: "\\\\2/instance/\\\\1"}\n',
      '/service/foo/v1/api',
      '/v1/api/instance/foo',
    ],
  ]
  for (const [name, rule, path, want] of rewriteCases) {
    it(name, () => {
      const s = snapshotOf(vs(`${rule}    route:\n    - destination: {host: reviews}\n`))
      expect(routeRequest(s, request({ path }), () => 0)).toMatchObject({ kind: 'forward', path: want })
    })
  }

  it('Istio: rewrite.authority replaces the authority sent', () => {
    const s = snapshotOf(
      vs('  - rewrite: {authority: reviews.internal}\n    route:\n    - destination: {host: reviews}\n'),
    )
    expect(routeRequest(s, request(), () => 0)).toMatchObject({ authority: 'reviews.internal' })
  })

  it('Envoy: destination-level header operations come before route-level ones', () => {
    const s = snapshotOf(
      vs(
        '  - headers:\n      request: {set: {x-level: route}}\n    route:\n    - destination: {host: reviews}\n      headers:\n        request: {set: {x-level: destination}}\n        response: {remove: [x-internal]}\n',
      ),
    )
    const d = routeRequest(s, request(), () => 0)
    if (d.kind !== 'forward') throw new Error(d.kind)
    expect(d.requestHeaders.map((h) => h.set)).toEqual([[['x-level', 'destination']], [['x-level', 'route']]])
    expect(d.responseHeaders.map((h) => h.remove)).toEqual([['x-internal']])
  })

  it('two rules naming one destination alike each send their own header operations', () => {
    // The compiled destination is shared by both rules; the operations are joined per rule.
    const dest =
      '    route:\n    - destination: {host: reviews}\n      headers:\n        request: {set: {x-level: destination}}\n'
    const s = snapshotOf(
      vs(
        `  - match:\n    - headers: {x-rule: {exact: first}}\n    headers:\n      request: {set: {x-level: route}}\n${dest}  - match:\n    - headers: {x-rule: {exact: second}}\n${dest}  - route:\n    - destination: {host: reviews}\n`,
      ),
    )
    const sets = (rule: string) => {
      const d = routeRequest(s, request({ headers: { 'x-rule': rule } }), () => 0)
      if (d.kind !== 'forward') throw new Error(d.kind)
      return d.requestHeaders.map((h) => h.set)
    }
    for (const _ of [1, 2]) {
      expect(sets('first')).toEqual([[['x-level', 'destination']], [['x-level', 'route']]])
      expect(sets('second')).toEqual([[['x-level', 'destination']]])
      expect(sets('other')).toEqual([])
    }
  })

  it('Istio: the route timeout spans the call', () => {
    const s = snapshotOf(vs('  - timeout: 1.5s\n    route:\n    - destination: {host: reviews}\n'))
    expect(routeRequest(s, request(), () => 0)).toMatchObject({ timeoutMs: 1500 })
  })

  it("Istio: no retries field means Istio's default policy, 2 attempts", () => {
    const d = routeRequest(
      snapshotOf(vs('  - route:\n    - destination: {host: reviews}\n')),
      request(),
      () => 0,
    )
    expect(d.kind === 'forward' && d.retry.toJSON()).toMatchObject({
      attempts: 2,
      retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
    })
  })

  it('Istio: retries with attempts 0 disable retrying', () => {
    const d = routeRequest(
      snapshotOf(vs('  - retries: {attempts: 0}\n    route:\n    - destination: {host: reviews}\n')),
      request(),
      () => 0,
    )
    expect(d.kind === 'forward' && d.retry.attempts).toBe(0)
  })

  it('Istio: a route’s retry policy is compiled once, not per request', () => {
    const s = snapshotOf(
      vs('  - retries: {attempts: 3, retryOn: 5xx}\n    route:\n    - destination: {host: reviews}\n'),
    )
    const a = routeRequest(s, request(), () => 0)
    const b = routeRequest(s, request(), () => 0)
    expect(a.kind === 'forward' && b.kind === 'forward' && a.retry === b.retry).toBe(true)
  })

  it('Istio: an abort at 100 % aborts every request (Bookinfo ratings-test-abort)', () => {
    const s = snapshotOf(
      vs(
        '  - fault: {abort: {httpStatus: 500, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews}\n',
      ),
    )
    expect(routeRequest(s, request(), () => 0.5)).toMatchObject({
      fault: { delayMs: 0, abort: { httpStatus: 500 } },
    })
  })

  it('Istio: a delay fires for the configured share of requests', () => {
    const s = snapshotOf(
      vs(
        '  - fault: {delay: {fixedDelay: 300ms, percentage: {value: 50}}}\n    route:\n    - destination: {host: reviews}\n',
      ),
    )
    expect(routeRequest(s, request(), sequence(0.49))).toMatchObject({ fault: { delayMs: 300 } })
    expect(routeRequest(s, request(), sequence(0.5))).toMatchObject({ fault: { delayMs: 0 } })
  })

  it('Envoy: a mirror gets the authority with -shadow appended to the host', () => {
    const s = snapshotOf(
      vs(
        '  - route:\n    - destination: {host: reviews, subset: v1}\n    mirror: {host: reviews, subset: v2}\n',
      ),
    )
    expect(routeRequest(s, request(), () => 0)).toMatchObject({
      mirrors: [
        {
          host: 'reviews.default.svc.cluster.local',
          subset: 'v2',
          port: 9080,
          authority: 'reviews-shadow:9080',
        },
      ],
    })
  })

  it('Istio: mirrorPercentage decides which requests are mirrored; 0 mirrors none', () => {
    const s = (pct: number) =>
      snapshotOf(
        vs(
          `  - route:\n    - destination: {host: reviews}\n    mirror: {host: reviews-copy}\n    mirrorPercentage: {value: ${pct}}\n`,
        ),
      )
    expect(routeRequest(s(0), request(), () => 0)).toMatchObject({ mirrors: [] })
    expect(routeRequest(s(25), request(), sequence(0.2))).toMatchObject({
      mirrors: [{ host: 'reviews-copy.default.svc.cluster.local' }],
    })
    expect(routeRequest(s(25), request(), sequence(0.3))).toMatchObject({ mirrors: [] })
  })

  it('Istio: mirrors each with its own percentage', () => {
    const s = snapshotOf(
      vs(
        '  - route:\n    - destination: {host: reviews}\n    mirrors:\n    - destination: {host: a}\n      percentage: {value: 100}\n    - destination: {host: b}\n      percentage: {value: 0}\n',
      ),
    )
    expect(routeRequest(s, request(), () => 0.5)).toMatchObject({
      mirrors: [{ host: 'a.default.svc.cluster.local' }],
    })
  })

  it('Istio: a destination port overrides the port the caller addressed', () => {
    const s = snapshotOf(vs('  - route:\n    - destination: {host: reviews, port: {number: 9081}}\n'))
    expect(routeRequest(s, request(), () => 0)).toMatchObject({ target: { port: 9081 } })
  })

  it('Istio: corsPolicy travels with the decision for the server side', () => {
    const s = snapshotOf(
      vs(
        '  - corsPolicy: {allowOrigins: [{exact: "https://shop.example"}]}\n    route:\n    - destination: {host: reviews}\n',
      ),
    )
    expect(routeRequest(s, request(), () => 0)).toMatchObject({
      cors: { allowOrigins: [{ exact: 'https://shop.example' }] },
    })
  })
})

describe('hosts', () => {
  const reviews = vs('  - route:\n    - destination: {host: reviews, subset: v1}\n')
  const hostCases: [name: string, authority: string, namespace: string, subset: string | undefined][] = [
    ['Kubernetes: a short name is in the caller’s namespace', 'reviews:9080', 'default', 'v1'],
    ['Kubernetes: a short name from another namespace is another service', 'reviews:9080', 'prod', undefined],
    ['Kubernetes: name.namespace reaches across namespaces', 'reviews.default:9080', 'prod', 'v1'],
    ['Kubernetes: the FQDN', 'reviews.default.svc.cluster.local:9080', 'prod', 'v1'],
  ]
  for (const [name, authority, namespace, subset] of hostCases) {
    it(name, () => {
      expect(subsetOf(routeRequest(snapshotOf(reviews), request({ authority, namespace }), () => 0))).toBe(
        subset,
      )
    })
  }

  it('Istio: a host with no VirtualService routes to itself, on the port addressed', () => {
    const d = routeRequest(snapshotOf(reviews), request({ authority: 'ratings:9080' }), () => 0)
    expect(d).toMatchObject({
      kind: 'forward',
      target: { host: 'ratings.default.svc.cluster.local', port: 9080 },
    })
    expect(d.kind === 'forward' && d.rule).toBeUndefined()
  })

  it('Istio ALLOW_ANY: a host outside the mesh passes through', () => {
    expect(
      routeRequest(snapshotOf(reviews), request({ authority: 'api.example.com', scheme: 'https' }), () => 0),
    ).toMatchObject({
      kind: 'forward',
      target: { host: 'api.example.com', port: 443 },
    })
  })

  it('Istio REGISTRY_ONLY: a host outside the mesh is refused (BlackHoleCluster)', () => {
    const s = snapshotOf(reviews, { outboundTrafficPolicy: 'REGISTRY_ONLY' })
    expect(routeRequest(s, request({ authority: 'api.example.com' }), () => 0)).toEqual({
      kind: 'blackhole',
      host: 'api.example.com',
    })
  })

  it('Istio REGISTRY_ONLY: a ServiceEntry host is in the registry', () => {
    const s = snapshotOf(
      `${reviews}---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: api}\nspec:\n  hosts: [api.example.com]\n  ports: [{number: 443, name: https, protocol: TLS}]\n  resolution: DNS\n`,
      { outboundTrafficPolicy: 'REGISTRY_ONLY' },
    )
    expect(routeRequest(s, request({ authority: 'api.example.com:443' }), () => 0)).toMatchObject({
      kind: 'forward',
    })
  })

  it('Istio: a VirtualService bound only to a gateway does not route mesh traffic', () => {
    const s = snapshotOf(
      vs(
        '  - route:\n    - destination: {host: reviews, subset: v1}\n',
        '[reviews]',
        '  gateways: [bookinfo-gateway]\n',
      ),
    )
    expect(routeRequest(s, request(), () => 0)).toMatchObject({
      kind: 'forward',
      target: { host: 'reviews.default.svc.cluster.local' },
    })
    expect(subsetOf(routeRequest(s, request(), () => 0))).toBeUndefined()
  })

  it('Istio: exportTo "." hides a VirtualService from other namespaces', () => {
    const s = snapshotOf(
      vs('  - route:\n    - destination: {host: reviews, subset: v1}\n', '[reviews]', '  exportTo: ["."]\n'),
    )
    expect(
      routeRequest(s, request({ authority: 'reviews.default', namespace: 'default' }), () => 0),
    ).toMatchObject({ target: { subset: 'v1' } })
    expect(
      subsetOf(routeRequest(s, request({ authority: 'reviews.default', namespace: 'prod' }), () => 0)),
    ).toBeUndefined()
  })

  it('Istio: a wildcard VirtualService host routes the names under it', () => {
    const s = snapshotOf(vs('  - route:\n    - destination: {host: egress.internal}\n', '["*.example.com"]'))
    expect(routeRequest(s, request({ authority: 'api.example.com' }), () => 0)).toMatchObject({
      target: { host: 'egress.internal' },
    })
  })

  const authorities: [string, string, [string, number]][] = [
    ['reviews', 'http', ['reviews', 80]],
    ['reviews', 'https', ['reviews', 443]],
    ['reviews:9080', 'http', ['reviews', 9080]],
    ['[::1]:8080', 'http', ['::1', 8080]],
    ['[::1]', 'https', ['::1', 443]],
  ]
  for (const [authority, scheme, want] of authorities) {
    it(`splitAuthority ${authority} (${scheme})`, () =>
      expect(splitAuthority(authority, scheme)).toEqual(want))
  }
})
