import { type ChildProcess, execFile, fork } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMesh, type Mesh } from '@weft/mesh'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callApi } from './support/control-plane-api.js'
import {
  type ControlPlaneProcess,
  startControlPlaneProcess,
  weftBin,
} from './support/control-plane-process.js'

const here = dirname(fileURLToPath(import.meta.url))
const REPORT_INTERVAL_MS = 200

const CONFIG = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: reviews, subset: v2}, weight: 20}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings}
spec:
  host: ratings
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    outlierDetection: {consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 120s, maxEjectionPercent: 100}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - route: [{destination: {host: ratings}}]
    retries: {attempts: 0}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: nobody}
spec:
  selector: {matchLabels: {app: nobody}}
  rules: [{}]
`

interface Graph {
  version: number
  windowSeconds: number
  nodes: { id: string; kind: string; health: string; instances?: number; config?: { state: string } }[]
  edges: {
    id: string
    source: string
    target: string
    service: string
    protocol: string
    mtls: boolean
    requests: number
    errors: number
    errorRate: number
    p50Ms: number | null
    p99Ms: number | null
    share: number
    health: string
  }[]
}

let dataDir: string
let cp: ControlPlaneProcess
let admin: string
let viewer: string
const children: ChildProcess[] = []
const ports: Record<string, number> = {}

const api = (method: string, path: string, token: string | undefined, body?: string | object) =>
  callApi(cp.url, token, method, path, body)

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function graph(query = ''): Promise<Graph> {
  const res = await api('GET', `/api/v1/graph${query}`, viewer)
  expect(res.status).toBe(200)
  return res.body as Graph
}

function edge(g: Graph, from: string, to: string) {
  return g.edges.find((e) => e.source === from && e.target === to)
}

async function startService(name: string, version: string, env: Record<string, string> = {}) {
  const { body } = await api('POST', '/api/v1/tokens', admin, { namespace: 'default', serviceAccount: name })
  const child = fork(join(here, 'support/graph-service.mjs'), [], {
    env: {
      ...process.env,
      SERVICE: name,
      VERSION: version,
      WEFT_CONTROL_PLANE: cp.url,
      WEFT_TOKEN: body.token,
      WEFT_CACHE_DIR: dataDir,
      WEFT_REPORT_INTERVAL_MS: String(REPORT_INTERVAL_MS),
      ...env,
    },
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.push(child)
  const { port } = await new Promise<{ port: number }>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name}-${version} did not start in 60 s`)), 60_000)
    child.once('message', (m) => {
      clearTimeout(timer)
      done(m as { port: number })
    })
    child.once('exit', (code) => fail(new Error(`${name}-${version} exited with ${code}`)))
  })
  ports[`${name}-${version}`] = port
}

/** `GET /call` on productpage: N calls through its mesh, tallied by `STATUS WORKLOAD`. */
async function drive(to: string, n: number): Promise<Record<string, number>> {
  const res = await request(
    `http://127.0.0.1:${ports['productpage-v1']}/call?to=${encodeURIComponent(to)}&n=${n}`,
  )
  expect(res.statusCode).toBe(200)
  return (await res.body.json()) as Record<string, number>
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'weft-graph-'))
  cp = await startControlPlaneProcess(['--port', '0', '--data-dir', dataDir], 20_000)
  admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()
  viewer = (await api('POST', '/api/v1/tokens', admin, { viewer: true })).body.token
  expect((await api('POST', '/api/v1/apply', admin, CONFIG)).status).toBe(200)
  await Promise.all([
    startService('productpage', 'v1'),
    startService('reviews', 'v1'),
    startService('reviews', 'v2'),
    startService('ratings', 'v1'),
    startService('ratings', 'v2', { STATUS: '503' }),
  ])
  // Every instance holds the config with every endpoint: the latest version, acknowledged by all.
  await until(
    'every instance ACKs the version with all endpoints',
    async () => {
      const { body } = await api('GET', '/api/v1/status', admin)
      const ok =
        body.endpoints.length === 5 &&
        body.workloads.length === 5 &&
        body.workloads.every(
          (w: { state: string; applied: number }) => w.state === 'ACK' && w.applied === body.version,
        )
      return ok ? true : undefined
    },
    30_000,
  )
}, 180_000)

afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve()
          c.once('exit', () => resolve())
          c.disconnect()
        }),
    ),
  )
  cp?.child.kill('SIGTERM')
  await new Promise((r) => cp?.child.once('exit', r))
  await rm(dataDir, { recursive: true, force: true })
})

describe('service graph from SDK reports (control plane and five SDK instances, each in its own process)', () => {
  it('before any call: every service and workload is a node, idle, with its config state', async () => {
    const g = await graph()
    expect(g.windowSeconds).toBe(60)
    expect(g.edges).toEqual([])
    const ids = g.nodes.map((n) => n.id)
    for (const id of [
      'svc:default/productpage',
      'svc:default/reviews',
      'svc:default/ratings',
      'wl:default/productpage-v1',
      'wl:default/reviews-v1',
      'wl:default/reviews-v2',
      'wl:default/ratings-v1',
      'wl:default/ratings-v2',
    ])
      expect(ids).toContain(id)
    const reviews = g.nodes.find((n) => n.id === 'wl:default/reviews-v1')
    expect(reviews).toMatchObject({
      kind: 'workload',
      health: 'idle',
      instances: 1,
      config: { state: 'ACK' },
    })
  })

  it('edges count exactly the calls made, and the 80/20 VirtualService shows as 80/20 shares', async () => {
    const tally = await drive('http://reviews:9080/reviews/0', 400)
    const v1 = tally['200 reviews-v1'] ?? 0
    const v2 = tally['200 reviews-v2'] ?? 0
    expect(v1 + v2).toBe(400)
    const g = await until('both reviews edges reported', async () => {
      const g = await graph()
      const a = edge(g, 'wl:default/productpage-v1', 'wl:default/reviews-v1')
      const b = edge(g, 'wl:default/productpage-v1', 'wl:default/reviews-v2')
      const caller = edge(g, 'wl:unknown/unknown', 'wl:default/productpage-v1')
      return a && b && caller && a.requests + b.requests === 400 ? g : undefined
    })
    const toV1 = edge(g, 'wl:default/productpage-v1', 'wl:default/reviews-v1')
    const toV2 = edge(g, 'wl:default/productpage-v1', 'wl:default/reviews-v2')
    expect(toV1).toMatchObject({ requests: v1, errors: 0, errorRate: 0, health: 'healthy', protocol: 'http' })
    expect(toV2).toMatchObject({ requests: v2, errors: 0, health: 'healthy' })
    expect(toV1?.service).toBe('reviews.default.svc.cluster.local')
    // The destination's report wins, and it saw mutual TLS (the SDKs got certificates and dial auto mTLS).
    expect(toV1?.mtls).toBe(true)
    expect(toV1?.share).toBeCloseTo(v1 / 400, 3)
    expect(Math.abs((toV1?.share ?? 0) - 0.8)).toBeLessThan(0.07)
    expect(Math.abs((toV2?.share ?? 0) - 0.2)).toBeLessThan(0.07)
    expect(toV1?.p50Ms).toBeGreaterThan(0)
    expect(toV1?.p99Ms).toBeGreaterThanOrEqual(toV1?.p50Ms ?? 0)
    // The test's own requests to /call came from no mesh workload: their caller is `unknown`.
    expect(edge(g, 'wl:unknown/unknown', 'wl:default/productpage-v1')?.requests).toBe(1)
    expect(g.nodes.find((n) => n.id === 'svc:default/reviews')?.health).toBe('healthy')

    const described = await api('GET', '/api/v1/services/default/reviews', viewer)
    expect(described.status).toBe(200)
    const [route] = described.body.routes
    expect(route.virtualService).toBe('VirtualService/default/reviews')
    expect(route.http[0].destinations).toEqual([
      {
        host: 'reviews.default.svc.cluster.local',
        subset: 'v1',
        weight: 80,
        observedShare: Math.round((v1 / 400) * 10_000) / 10_000,
        requests: v1,
      },
      {
        host: 'reviews.default.svc.cluster.local',
        subset: 'v2',
        weight: 20,
        observedShare: Math.round((v2 / 400) * 10_000) / 10_000,
        requests: v2,
      },
    ])
    expect(
      described.body.subsets.map((s: { endpoints: { health: string }[] }) => s.endpoints[0]?.health),
    ).toEqual(['healthy', 'healthy'])
  })

  it('an upstream answering 503 shows its errors and a failing colour; outlier ejection shows in describe service', async () => {
    const tally = await drive('http://ratings:9080/ratings/0', 20)
    const failed = tally['503 ratings-v2'] ?? 0
    const served = tally['200 ratings-v1'] ?? 0
    // Round robin until two 503s in a row from ratings-v2 eject it; then ratings-v1 takes all.
    expect(failed).toBe(2)
    expect(served).toBe(18)
    const g = await until('ratings edges reported', async () => {
      const g = await graph()
      const bad = edge(g, 'wl:default/productpage-v1', 'wl:default/ratings-v2')
      const good = edge(g, 'wl:default/productpage-v1', 'wl:default/ratings-v1')
      return bad && good && bad.requests + good.requests === 20 ? g : undefined
    })
    expect(edge(g, 'wl:default/productpage-v1', 'wl:default/ratings-v2')).toMatchObject({
      requests: failed,
      errors: failed,
      errorRate: 1,
      health: 'failing',
    })
    expect(edge(g, 'wl:default/productpage-v1', 'wl:default/ratings-v1')).toMatchObject({
      requests: served,
      errors: 0,
      health: 'healthy',
    })
    const health = Object.fromEntries(g.nodes.map((n) => [n.id, n.health]))
    expect(health['wl:default/ratings-v2']).toBe('failing')
    expect(health['svc:default/ratings']).toBe('failing')
    expect(health['wl:default/ratings-v1']).toBe('healthy')

    const status = await api('GET', '/api/v1/status', viewer)
    const productpage = status.body.workloads.find((w: { service: string }) => w.service === 'productpage')
    const described = await until('the ejection reported', async () => {
      const d = await api('GET', '/api/v1/services/default/ratings', viewer)
      return d.body.endpoints.some((e: { health: string }) => e.health === 'ejected') ? d.body : undefined
    })
    const byPort = Object.fromEntries(
      described.endpoints.map((e: { port: number; health: string; ejectedBy: string[] }) => [e.port, e]),
    )
    expect(byPort[ports['ratings-v2'] as number]).toMatchObject({
      health: 'ejected',
      ejectedBy: [productpage.instance],
    })
    expect(byPort[ports['ratings-v1'] as number]).toMatchObject({ health: 'healthy', ejectedBy: [] })

    // `weft describe service` prints it, read with the viewer token.
    const printed = await new Promise<string>((done, fail) =>
      execFile(
        process.execPath,
        [weftBin, 'describe', 'service', 'ratings'],
        { env: { ...process.env, WEFT_SERVER: cp.url, WEFT_TOKEN: viewer } },
        (error, stdout) => (error ? fail(error) : done(stdout)),
      ),
    )
    expect(printed).toMatch(
      new RegExp(`127\\.0\\.0\\.1:${ports['ratings-v2']}\\s.*\\sejected \\(by ${productpage.instance}\\)`),
    )
    expect(printed).toMatch(new RegExp(`127\\.0\\.0\\.1:${ports['ratings-v1']}\\s.*\\shealthy`))
  })

  it('the graph stream sends the graph at once, then again as reports come in', async () => {
    const controller = new AbortController()
    const res = await request(`${cp.url}/api/v1/graph/stream`, {
      headers: { authorization: `Bearer ${viewer}` },
      signal: controller.signal,
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/event-stream')
    const events: Graph[] = []
    let buffer = ''
    const reading = (async () => {
      for await (const chunk of res.body) {
        buffer += chunk.toString()
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          if (block.startsWith('event: graph\n'))
            events.push(JSON.parse(block.slice(block.indexOf('data: ') + 6)))
          end = buffer.indexOf('\n\n')
        }
      }
    })().catch(() => {})
    const first = await until('a first graph event', async () => events[0])
    const before = edge(first, 'wl:default/productpage-v1', 'wl:default/reviews-v1')?.requests ?? 0
    const tally = await drive('http://reviews:9080/reviews/0', 20)
    const more = tally['200 reviews-v1'] ?? 0
    const later = await until('a graph event with the new calls', async () =>
      events.find(
        (g) =>
          (edge(g, 'wl:default/productpage-v1', 'wl:default/reviews-v1')?.requests ?? 0) === before + more,
      ),
    )
    expect(later.nodes.length).toBeGreaterThan(0)
    controller.abort()
    await reading
  })

  it('a viewer reads every view but changes nothing (403); no token is 401', async () => {
    for (const path of [
      '/api/v1/graph',
      '/api/v1/status',
      '/api/v1/resources',
      '/api/v1/config',
      '/api/v1/services/default/reviews',
    ])
      expect((await api('GET', path, viewer)).status, path).toBe(200)
    const config = (await api('GET', '/api/v1/config', viewer)).body
    const nobody = config.resources.find((r: { name: string }) => r.name === 'nobody')
    expect(nobody).toMatchObject({ kind: 'AuthorizationPolicy', namespace: 'default' })
    expect(nobody.findings).toEqual([
      expect.objectContaining({ code: 'WFT0127', severity: 'warning', path: 'spec.selector' }),
    ])
    expect(
      config.resources.find((r: { name: string }) => r.name === 'reviews' && r.kind === 'VirtualService')
        .findings,
    ).toEqual([])
    const refused = await api('POST', '/api/v1/apply', viewer, CONFIG)
    expect(refused.status).toBe(403)
    expect(refused.body.code).toBe('WEFT_CP_FORBIDDEN')
    expect((await api('POST', '/api/v1/tokens', viewer, { viewer: true })).status).toBe(403)
    expect((await api('DELETE', '/api/v1/resources/VirtualService/default/reviews', viewer)).status).toBe(403)
    expect((await api('GET', '/api/v1/graph', undefined)).status).toBe(401)
    expect((await api('POST', '/api/v1/apply', undefined, CONFIG)).status).toBe(401)
    // The dashboard's files are open (they hold no data).
    const page = await request(`${cp.url}/dashboard`)
    await page.body.text()
    expect(page.statusCode).toBe(308)
  })

  it('a workload token reports only for its namespace; a report too large is refused with 413', async () => {
    const { body } = await api('POST', '/api/v1/tokens', admin, {
      namespace: 'shop',
      serviceAccount: 'billing',
    })
    const report = {
      instance: 'billing-1',
      workload: {
        namespace: 'default',
        service: 'billing',
        workload: 'billing',
        app: 'billing',
        version: 'unknown',
      },
      intervalMs: 5000,
      edges: [],
      clusters: [],
    }
    expect((await api('POST', '/api/v1/reports', body.token, report)).status).toBe(403)
    const own = { ...report, workload: { ...report.workload, namespace: 'shop' } }
    expect((await api('POST', '/api/v1/reports', body.token, own)).status).toBe(204)
    const huge = await api('POST', '/api/v1/reports', body.token, { ...own, padding: 'x'.repeat(300_000) })
    expect(huge.status).toBe(413)
    expect(huge.body.message).toMatch(/at most 262144 bytes/)
    const bad = await api('POST', '/api/v1/reports', body.token, { ...own, edges: [{ reporter: 'both' }] })
    expect(bad.status).toBe(400)
    expect(bad.body.message).toMatch(/edges\[0\]\.reporter/)
  })
})

describe('one report per interval per instance, whatever the traffic (POSTs counted on the wire)', () => {
  let proxy: Server
  let mesh: Mesh | undefined
  let reports = 0

  beforeAll(async () => {
    // A pass-through in front of the control plane that counts the reports it carries.
    const target = new URL(cp.url)
    proxy = createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/api/v1/reports') reports++
      const out = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      out.on('error', () => res.destroy())
      req.pipe(out)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  })

  afterAll(async () => {
    await mesh?.close()
    proxy.closeAllConnections()
    await new Promise((resolve) => proxy.close(resolve))
  })

  it('counts about one POST per 200 ms interval under load, and none while idle', async () => {
    const { body } = await api('POST', '/api/v1/tokens', admin, {
      namespace: 'default',
      serviceAccount: 'loadgen',
    })
    mesh = await createMesh({
      service: 'loadgen',
      controlPlane: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      token: body.token,
      cacheDir: dataDir,
      reportIntervalMs: REPORT_INTERVAL_MS,
    })
    const url = `http://127.0.0.1:${ports['reviews-v1']}/`
    await mesh.fetch(url).then((r) => r.text())
    await new Promise((r) => setTimeout(r, 3 * REPORT_INTERVAL_MS))
    const start = reports
    const started = Date.now()
    let calls = 0
    // Eight callers for about ten intervals.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() - started < 10 * REPORT_INTERVAL_MS) {
          await (mesh as Mesh).fetch(url).then((r) => r.text())
          calls++
        }
      }),
    )
    const intervals = (Date.now() - started) / REPORT_INTERVAL_MS
    const underLoad = reports - start
    expect(calls).toBeGreaterThan(100)
    expect(underLoad).toBeGreaterThanOrEqual(Math.floor(intervals / 2))
    expect(underLoad).toBeLessThanOrEqual(Math.ceil(intervals) + 1)
    await new Promise((r) => setTimeout(r, 2 * REPORT_INTERVAL_MS))
    const settled = reports
    await new Promise((r) => setTimeout(r, 5 * REPORT_INTERVAL_MS))
    expect(reports).toBe(settled)
  })
})
