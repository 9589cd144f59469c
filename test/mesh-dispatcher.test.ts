import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMeshDispatcher, type OutboundRequestEvent, RESPONSE_FLAGS_HEADER } from '@weft/client'
import { compileSnapshot, loadConfig, type RegistryEndpoint, type Snapshot } from '@weft/config'
import { type Dispatcher, fetch, getGlobalDispatcher, request, setGlobalDispatcher } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, stopAll, type Upstream } from './support/upstreams.js'

const here = dirname(fileURLToPath(import.meta.url))
const bookinfo = join(process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../shared/istio'), 'bookinfo')
const istio = (file: string) => ({ file, text: readFileSync(join(bookinfo, file), 'utf8') })

const upstreams: Upstream[] = []
let registry: RegistryEndpoint[] = []

function endpoint(u: Upstream, service: string, version: string): RegistryEndpoint {
  return {
    service,
    namespace: 'default',
    address: '127.0.0.1',
    port: u.port,
    labels: { app: service, version },
  }
}

function snapshotOf(...texts: { file: string; text: string }[]): Snapshot {
  const loaded = loadConfig(texts)
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  return compileSnapshot(loaded.resources, { registry })
}

let current: Snapshot
let dispatcher: Dispatcher

async function call(path: string, headers: Record<string, string> = {}, host = 'reviews:9080') {
  const res = await request(`http://${host}${path}`, { dispatcher, headers })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, body: text ? safeJson(text) : undefined, text }
}

function safeJson(
  text: string,
): { name?: string; url?: string; headers?: Record<string, string> } | undefined {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

beforeAll(async () => {
  const [v1, v2, v3, ratings] = await Promise.all([
    startUpstream('reviews-v1'),
    startUpstream('reviews-v2'),
    startUpstream('reviews-v3'),
    startUpstream('ratings-v1'),
  ])
  upstreams.push(v1, v2, v3, ratings)
  registry = [
    endpoint(v1, 'reviews', 'v1'),
    endpoint(v2, 'reviews', 'v2'),
    endpoint(v3, 'reviews', 'v3'),
    endpoint(ratings, 'ratings', 'v1'),
  ]
  current = snapshotOf(istio('destination-rule-all.yaml'), istio('virtual-service-reviews-80-20.yaml'))
  dispatcher = createMeshDispatcher({
    snapshot: () => current,
    source: { namespace: 'default', labels: { app: 'productpage', version: 'v1' } },
  })
}, 30_000)

afterAll(async () => {
  await dispatcher?.close()
  await stopAll(upstreams)
})

describe('mesh.dispatcher with Istio’s Bookinfo rules, against real upstream processes', () => {
  it('virtual-service-reviews-80-20.yaml: 2,000 calls split 80/20 within ±3 points', async () => {
    const counts: Record<string, number> = {}
    for (let batch = 0; batch < 20; batch++) {
      const results = await Promise.all(Array.from({ length: 100 }, () => call('/reviews/0')))
      for (const r of results) {
        expect(r.status).toBe(200)
        const name = r.body?.name ?? 'none'
        counts[name] = (counts[name] ?? 0) + 1
      }
    }
    const v1 = ((counts['reviews-v1'] ?? 0) / 2000) * 100
    expect(Math.abs(v1 - 80)).toBeLessThanOrEqual(3)
    expect((counts['reviews-v1'] ?? 0) + (counts['reviews-v2'] ?? 0)).toBe(2000)
  })

  it('swapping in virtual-service-reviews-v3.yaml at run time moves all traffic to v3 with no failed call', async () => {
    const calls: Promise<{ status: number; body?: { name?: string } }>[] = []
    for (let i = 0; i < 300; i++) {
      if (i === 150)
        current = snapshotOf(istio('destination-rule-all.yaml'), istio('virtual-service-reviews-v3.yaml'))
      calls.push(call('/reviews/1'))
      if (i % 25 === 0) await new Promise((r) => setImmediate(r))
    }
    const results = await Promise.all(calls)
    expect(results.every((r) => r.status === 200)).toBe(true)
    const after = await Promise.all(Array.from({ length: 100 }, () => call('/reviews/2')))
    expect(new Set(after.map((r) => r.body?.name))).toEqual(new Set(['reviews-v3']))
  })

  it('virtual-service-reviews-jason-v2-v3.yaml: end-user jason reaches v2, everyone else v3', async () => {
    current = snapshotOf(
      istio('destination-rule-all.yaml'),
      istio('virtual-service-reviews-jason-v2-v3.yaml'),
    )
    const jason = await Promise.all(
      Array.from({ length: 50 }, () => call('/reviews/0', { 'end-user': 'jason' })),
    )
    const others = await Promise.all(
      Array.from({ length: 50 }, () => call('/reviews/0', { 'end-user': 'ann' })),
    )
    expect(new Set(jason.map((r) => r.body?.name))).toEqual(new Set(['reviews-v2']))
    expect(new Set(others.map((r) => r.body?.name))).toEqual(new Set(['reviews-v3']))
  })

  it('virtual-service-ratings-test-abort.yaml: jason gets 500s (flag FI), others 200s', async () => {
    current = snapshotOf(istio('destination-rule-all.yaml'), istio('virtual-service-ratings-test-abort.yaml'))
    const jason = await call('/ratings/0', { 'end-user': 'jason' }, 'ratings:9080')
    const ann = await call('/ratings/0', { 'end-user': 'ann' }, 'ratings:9080')
    expect([jason.status, jason.headers[RESPONSE_FLAGS_HEADER]]).toEqual([500, 'FI'])
    expect([ann.status, ann.body?.name]).toEqual([200, 'ratings-v1'])
  })

  it('a 300 ms delay fault (shaped as -test-delay.yaml) delays by 300 ms ±50', async () => {
    const delay = istio('virtual-service-ratings-test-delay.yaml')
    current = snapshotOf(istio('destination-rule-all.yaml'), {
      ...delay,
      text: delay.text.replace('fixedDelay: 7s', 'fixedDelay: 300ms'),
    })
    const started = performance.now()
    const jason = await call('/ratings/0', { 'end-user': 'jason' }, 'ratings:9080')
    const elapsed = performance.now() - started
    expect(jason.status).toBe(200)
    expect(elapsed).toBeGreaterThanOrEqual(300)
    expect(elapsed).toBeLessThanOrEqual(350)
    const quick = performance.now()
    await call('/ratings/0', {}, 'ratings:9080')
    expect(performance.now() - quick).toBeLessThan(250)
  })

  it('the upstream sees the route’s authority and path, with request header operations applied', async () => {
    current = snapshotOf({
      file: 'rw.yaml',
      text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - match:\n    - uri: {prefix: /old/}\n    rewrite: {uri: /new/}\n    headers:\n      request: {set: {x-mesh: weft}}\n    route:\n    - destination: {host: reviews}\n',
    })
    const r = await call('/old/items?x=1')
    expect(r.status).toBe(200)
    expect(r.body?.url).toBe('/new/items?x=1')
    expect(r.body?.headers?.['x-mesh']).toBe('weft')
    expect(r.body?.headers?.host).toBe('reviews:9080')
  })

  it('direct responses, redirects and unmatched requests are answered without a socket', async () => {
    current = snapshotOf({
      file: 'local.yaml',
      text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - match:\n    - uri: {exact: /maintenance}\n    directResponse: {status: 503, body: {string: "back soon"}}\n  - match:\n    - uri: {exact: /old}\n    redirect: {uri: /new}\n  - match:\n    - uri: {prefix: /api}\n    route:\n    - destination: {host: reviews}\n',
    })
    const direct = await call('/maintenance')
    expect([direct.status, direct.text, direct.headers[RESPONSE_FLAGS_HEADER]]).toEqual([
      503,
      'back soon',
      'DR',
    ])
    const redirect = await call('/old')
    expect([redirect.status, redirect.headers.location]).toEqual([301, 'http://reviews:9080/new'])
    const none = await call('/elsewhere')
    expect([none.status, none.headers[RESPONSE_FLAGS_HEADER]]).toEqual([404, 'NR'])
  })

  it('a host outside the mesh passes through (ALLOW_ANY), and WHATWG fetch works through the dispatcher', async () => {
    const outside = upstreams[3] as Upstream
    const res = await fetch(`http://127.0.0.1:${outside.port}/direct`, { dispatcher })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { url: string }).url).toBe('/direct')
  })

  it('outlier detection ejects an endpoint answering 503 and re-admits it once healthy', async () => {
    const yaml = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection: {consecutive5xxErrors: 3, interval: 100ms, baseEjectionTime: 300ms, maxEjectionPercent: 100}
`
    current = snapshotOf({ file: 'od.yaml', text: yaml })
    const bad = upstreams[1] as Upstream
    await bad.setStatus(503)
    try {
      const first = []
      for (let i = 0; i < 60; i++) first.push(await call('/reviews/0'))
      const failures = first.filter((r) => r.status === 503).length
      // Three consecutive 503s eject it; before that, round robin sends it one call in three.
      expect(failures).toBeGreaterThanOrEqual(3)
      expect(failures).toBeLessThanOrEqual(4)
      expect(first.slice(-30).every((r) => r.status === 200)).toBe(true)
      await bad.setStatus(200)
      await new Promise((r) => setTimeout(r, 500))
      const later = []
      for (let i = 0; i < 30; i++) later.push(await call('/reviews/0'))
      expect(later.some((r) => r.body?.name === 'reviews-v2')).toBe(true)
    } finally {
      await bad.setStatus(200)
    }
  })
})

describe('resilience through mesh.dispatcher, against real upstream processes', () => {
  const slow: Upstream[] = []
  beforeAll(async () => {
    slow.push(await startUpstream('slow', { UPSTREAM_DELAY_MS: '2000' }))
  }, 20_000)
  afterAll(async () => {
    await stopAll(slow)
  })

  it('one of three endpoints answering 503: with retries and outlier detection at least 99.5 % of 1,000 calls succeed', async () => {
    current = snapshotOf({
      file: 'resilience.yaml',
      text: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    retries: {attempts: 3, retryOn: 5xx}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100}
`,
    })
    const bad = upstreams[1] as Upstream
    await bad.setStatus(503)
    try {
      // Three callers at a time: Weft's default retry budget (20 % of active requests, at least 3
      // in flight) deliberately refuses a larger burst of retries, as Envoy's retry_budget does.
      let ok = 0
      let total = 0
      while (total < 1000) {
        const results = await Promise.all(
          Array.from({ length: Math.min(3, 1000 - total) }, () => call('/reviews/0')),
        )
        ok += results.filter((r) => r.status === 200).length
        total += results.length
      }
      expect(total).toBe(1000)
      expect(ok / 1000).toBeGreaterThanOrEqual(0.995)
      const after = await Promise.all(Array.from({ length: 60 }, () => call('/reviews/0')))
      expect(after.some((r) => r.body?.name === 'reviews-v2')).toBe(false)
    } finally {
      await bad.setStatus(200)
    }
  })

  it('a connect failure is retried on another endpoint (Istio default policy: connect-failure)', async () => {
    registry = [
      ...registry,
      {
        service: 'ratings',
        namespace: 'default',
        address: '127.0.0.1',
        port: 1,
        labels: { app: 'ratings', version: 'v9' },
      },
    ]
    current = snapshotOf({
      file: 'rr.yaml',
      text: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ratings}\nspec:\n  host: ratings\n  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n',
    })
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => call('/ratings/0', {}, 'ratings:9080')),
      )
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(200))
    } finally {
      registry = registry.filter((e) => e.port !== 1)
    }
  })

  it('route timeout 500 ms against an upstream taking 2 s: 504 (UT) within 500 ms +100', async () => {
    registry = [...registry, endpoint(slow[0] as Upstream, 'details', 'v1')]
    current = snapshotOf({
      file: 'timeout.yaml',
      text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: details}\nspec:\n  hosts: [details]\n  http:\n  - route:\n    - destination: {host: details}\n    timeout: 500ms\n',
    })
    const started = performance.now()
    const r = await call('/details/0', {}, 'details:9080')
    const elapsed = performance.now() - started
    expect([r.status, r.headers[RESPONSE_FLAGS_HEADER]]).toEqual([504, 'UT'])
    expect(elapsed).toBeGreaterThanOrEqual(490)
    expect(elapsed).toBeLessThanOrEqual(600)
  })

  it('the upstream sees the time left of the route timeout (x-envoy-expected-rq-timeout-ms)', async () => {
    current = snapshotOf({
      file: 'deadline.yaml',
      text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    timeout: 500ms\n',
    })
    const r = await call('/reviews/0')
    const seen = Number(r.body?.headers?.['x-envoy-expected-rq-timeout-ms'])
    expect(seen).toBeGreaterThan(400)
    expect(seen).toBeLessThanOrEqual(500)
  })

  it('past http2MaxRequests, requests fail at once with 503 (UO)', async () => {
    registry = [
      ...registry.filter((e) => e.service !== 'details'),
      endpoint(slow[0] as Upstream, 'details', 'v1'),
    ]
    current = snapshotOf({
      file: 'pool.yaml',
      text: 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: details}\nspec:\n  host: details\n  trafficPolicy:\n    connectionPool: {http: {http2MaxRequests: 2}}\n',
    })
    const results = await Promise.all(Array.from({ length: 5 }, () => call('/details/0', {}, 'details:9080')))
    const overflow = results.filter((r) => r.status === 503 && r.headers[RESPONSE_FLAGS_HEADER] === 'UO')
    expect(overflow.length).toBe(3)
    expect(results.filter((r) => r.status === 200).length).toBe(2)
  })
})

describe('mirroring through mesh.dispatcher', () => {
  it('Envoy: a copy goes to the mirror with -shadow on the authority; the caller gets the primary’s answer', async () => {
    current = snapshotOf({
      file: 'mirror.yaml',
      text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n    mirror: {host: reviews, subset: v3}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews}\nspec:\n  host: reviews\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v3, labels: {version: v3}}\n',
    })
    const r = await call('/reviews/mirrored?n=1')
    expect([r.status, r.body?.name]).toEqual([200, 'reviews-v1'])
    const v3 = upstreams[2] as Upstream
    const seen = await (async () => {
      for (let i = 0; i < 40; i++) {
        const last = await v3.last()
        if (last?.url === '/reviews/mirrored?n=1') return last
        await new Promise((res) => setTimeout(res, 25))
      }
      return undefined
    })()
    expect(seen?.headers.host).toBe('reviews-shadow:9080')
  })
})

describe("Weft's destination circuit breaker (opossum), through mesh.dispatcher", () => {
  it('opens when the whole subset fails, answers 503 UO without calling it, and closes once it recovers', async () => {
    current = snapshotOf({
      file: 'breaker.yaml',
      text: `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings
  annotations:
    weft.dev/circuit-breaker: '{"errorThresholdPercentage": 50, "volumeThreshold": 5, "resetTimeout": "300ms"}'
spec:
  host: ratings
`,
    })
    const ratings = upstreams[3] as Upstream
    await ratings.setStatus(503)
    try {
      const statuses: string[] = []
      for (let i = 0; i < 12; i++) {
        const r = await call('/ratings/0', {}, 'ratings:9080')
        statuses.push(
          `${r.status}${r.headers[RESPONSE_FLAGS_HEADER] ? ` ${r.headers[RESPONSE_FLAGS_HEADER]}` : ''}`,
        )
      }
      expect(statuses.slice(0, 5)).toEqual(Array(5).fill('503'))
      expect(statuses.slice(-5)).toEqual(Array(5).fill('503 UO'))
      await ratings.setStatus(200)
      await new Promise((r) => setTimeout(r, 400))
      const probe = await call('/ratings/0', {}, 'ratings:9080')
      expect(probe.status).toBe(200)
      const after = await Promise.all(Array.from({ length: 5 }, () => call('/ratings/0', {}, 'ratings:9080')))
      expect(after.map((r) => r.status)).toEqual(Array(5).fill(200))
    } finally {
      await ratings.setStatus(200)
    }
  })
})

describe('setGlobalDispatcher(mesh.dispatcher)', () => {
  it("meshes plain undici.request and Node's global fetch too", async () => {
    current = snapshotOf(istio('destination-rule-all.yaml'), istio('virtual-service-reviews-v3.yaml'))
    const previous = getGlobalDispatcher()
    setGlobalDispatcher(dispatcher)
    try {
      const viaRequest = await request('http://reviews:9080/reviews/0')
      expect(((await viaRequest.body.json()) as { name: string }).name).toBe('reviews-v3')
      const viaFetch = await globalThis.fetch('http://reviews:9080/reviews/0')
      expect(((await viaFetch.json()) as { name: string }).name).toBe('reviews-v3')
    } finally {
      setGlobalDispatcher(previous)
    }
  })
})

describe('telemetry hook', () => {
  it('reports each request once it is over: rule, target, endpoint, status, flags, attempts', async () => {
    const events: OutboundRequestEvent[] = []
    const hooked = createMeshDispatcher({
      snapshot: () => current,
      source: { namespace: 'default', labels: { app: 'productpage' } },
      onRequestEnd: (event) => events.push(event),
    })
    try {
      current = snapshotOf({
        file: 'hook.yaml',
        text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - match:\n    - uri: {exact: /down}\n    directResponse: {status: 503}\n  - route:\n    - destination: {host: reviews}\n',
      })
      const ok = await request('http://reviews:9080/reviews/0', { dispatcher: hooked })
      await ok.body.dump()
      const down = await request('http://reviews:9080/down', { dispatcher: hooked })
      await down.body.dump()
      expect(events).toHaveLength(2)
      expect(events[0]).toMatchObject({
        host: 'reviews.default.svc.cluster.local',
        rule: 'VirtualService/default/reviews#http[1]',
        target: { host: 'reviews.default.svc.cluster.local', port: 9080 },
        status: 200,
        flags: [],
        attempts: 1,
      })
      expect(events[0]?.endpoint).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(events[1]).toMatchObject({ status: 503, flags: ['DR'], attempts: 0, target: undefined })
    } finally {
      await hooked.close()
    }
  })
})
