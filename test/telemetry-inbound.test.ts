import { type ChildProcess, fork } from 'node:child_process'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createMeshDispatcher } from '@weft/client'
import { compileSnapshot, loadConfig, type RegistryEndpoint, type Snapshot } from '@weft/config'
import { createTelemetry, type Telemetry } from '@weft/telemetry'
import { type Dispatcher, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inMemoryTracing, SPAN_KIND } from './support/telemetry-otel.js'
import { metricsEndpoint, type Sample } from './support/telemetry-scrape.js'
import { startUpstream, stopAll, type Upstream } from './support/upstreams.js'

interface RemoteSpan {
  name: string
  kind: number
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  attributes: Record<string, unknown>
}

const source = { namespace: 'default', labels: { app: 'productpage', version: 'v1' } }
const empty = compileSnapshot([])

function series(samples: Sample[], name: string, match: Record<string, string>): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

describe('a client span in one process is the parent of the server span in another', () => {
  let child: ChildProcess
  let port = 0
  const tracing = inMemoryTracing()
  let dispatcher: Dispatcher

  beforeAll(async () => {
    child = fork(fileURLToPath(new URL('./support/telemetry-server.mjs', import.meta.url)), [], {
      stdio: 'inherit',
      // The child runs the built packages, as a user's process would, not the test runner's sources.
      execArgv: [],
    })
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('telemetry-server did not start in 10 s')), 10_000)
      child.once('message', (m) => {
        clearTimeout(timer)
        resolve((m as { port: number }).port)
      })
      child.once('exit', (code) => reject(new Error(`telemetry-server exited with ${code}`)))
    })
    const registry: RegistryEndpoint[] = [
      {
        service: 'ratings',
        namespace: 'default',
        address: '127.0.0.1',
        port,
        labels: { app: 'ratings', version: 'v1' },
      },
    ]
    const snapshot = compileSnapshot([], { registry })
    const telemetry = createTelemetry({
      service: 'productpage',
      labels: { version: 'v1' },
      snapshot: () => snapshot,
      tracerProvider: tracing.provider,
    })
    dispatcher = createMeshDispatcher({ snapshot: () => snapshot, source, telemetry: telemetry.outbound })
  }, 30_000)

  afterAll(async () => {
    await dispatcher?.close()
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill()
    })
  })

  it('trace id shared; SERVER span parented by the attempt, the attempt by the CLIENT span', async () => {
    const res = await request('http://ratings:9080/ratings/0', { dispatcher })
    const body = (await res.body.json()) as { requestId: string; traceparent: string }
    expect(res.statusCode).toBe(200)
    const remote = await new Promise<RemoteSpan[]>((resolve) => {
      child.once('message', (m) => resolve((m as { spans: RemoteSpan[] }).spans))
      child.send('spans')
    })
    const local = tracing.spans()
    const call = local.find((s) => s.attributes['url.full'] === 'http://ratings:9080/ratings/0')
    const attempt = local.find((s) => s.parentSpanContext?.spanId === call?.spanContext().spanId)
    expect(call?.kind).toBe(SPAN_KIND.CLIENT)
    expect(attempt?.kind).toBe(SPAN_KIND.CLIENT)
    expect(remote).toHaveLength(1)
    const server = remote[0] as RemoteSpan
    expect(server.kind).toBe(SPAN_KIND.SERVER)
    expect(server.traceId).toBe(call?.spanContext().traceId)
    expect(server.parentSpanId).toBe(attempt?.spanContext().spanId)
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/ratings/0',
      'http.response.status_code': 200,
    })
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe('the inbound API on plain node:http servers', () => {
  const upstreams: Upstream[] = []
  let telemetry: Telemetry
  let server: Server
  let port = 0
  let metrics: Awaited<ReturnType<typeof metricsEndpoint>>
  let outbound: Dispatcher
  let current: Snapshot
  const log: string[] = []
  const tracing = inMemoryTracing()

  /** The adapter's part, as the lead's Express/Fastify adapters will do it: start, run, end. */
  function handle(req: IncomingMessage, res: ServerResponse) {
    const call = telemetry.inbound.start({
      protocol: 'http',
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority: req.headers.host,
      headers: req.headers,
      remoteAddress: req.socket.remoteAddress,
      localPort: port,
    })
    const reply = (status: number, body: string, denial?: { stage: string; policy: string }) => {
      res.writeHead(status, { 'content-type': 'text/plain' })
      res.end(body, () =>
        call.end({ status, bytesOut: Buffer.byteLength(body), ...(denial ? { denial } : {}) }),
      )
    }
    if (req.url === '/admin')
      return reply(403, 'RBAC: access denied', {
        stage: 'authorization',
        policy: 'AuthorizationPolicy/default/deny-admin',
      })
    if (req.url === '/limited')
      return reply(429, 'rate limited', { stage: 'rate-limit', policy: 'RateLimitPolicy/default/ratings#0' })
    call.run(async () => {
      // A call made while serving: it carries this request's x-request-id and trace.
      const out = await request('http://reviews:9080/inner', { dispatcher: outbound })
      await out.body.dump()
      reply(200, `served ${call.requestId}`)
    })
  }

  beforeAll(async () => {
    const reviews = await startUpstream('reviews-v1')
    upstreams.push(reviews)
    const registry: RegistryEndpoint[] = [
      {
        service: 'reviews',
        namespace: 'default',
        address: '127.0.0.1',
        port: reviews.port,
        labels: { app: 'reviews', version: 'v1' },
      },
    ]
    const loaded = loadConfig([
      {
        file: 'log.yaml',
        text: 'apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: log, namespace: default}\nspec:\n  accessLogging:\n  - match: {mode: SERVER}\n',
      },
    ])
    current = compileSnapshot(loaded.resources, { registry })
    telemetry = createTelemetry({
      service: 'ratings',
      labels: { version: 'v1' },
      principal: 'spiffe://cluster.local/ns/default/sa/ratings',
      snapshot: () => current,
      tracerProvider: tracing.provider,
      accessLog: { write: (line: string) => log.push(line) },
    })
    outbound = createMeshDispatcher({
      snapshot: () => current,
      source: { namespace: 'default', labels: { app: 'ratings', version: 'v1' } },
      telemetry: telemetry.outbound,
    })
    server = createServer(handle)
    port = await listen(server)
    metrics = await metricsEndpoint(telemetry.metricsHandler)
  }, 30_000)

  afterAll(async () => {
    await outbound?.close()
    await metrics?.close()
    await new Promise<void>((resolve) => server?.close(() => resolve()))
    await stopAll(upstreams)
  })

  it('a meshed caller is named by its peer header; destination labels are the workload’s own', async () => {
    const client = createTelemetry({
      service: 'productpage',
      labels: { version: 'v1' },
      snapshot: () => empty,
      tracing: false,
    })
    const registry: RegistryEndpoint[] = [
      {
        service: 'ratings',
        namespace: 'default',
        address: '127.0.0.1',
        port,
        labels: { app: 'ratings', version: 'v1' },
      },
    ]
    const snapshot = compileSnapshot([], { registry })
    const caller = createMeshDispatcher({ snapshot: () => snapshot, source, telemetry: client.outbound })
    try {
      const res = await request('http://ratings:9080/ratings/1', { dispatcher: caller })
      expect(res.statusCode).toBe(200)
      await res.body.text()
    } finally {
      await caller.close()
    }
    const found = series(await metrics.scrape(), 'istio_requests_total', {
      reporter: 'destination',
      response_code: '200',
    })
    expect(found.map((s) => s.labels)).toEqual([
      {
        reporter: 'destination',
        source_workload: 'productpage-v1',
        source_workload_namespace: 'default',
        source_principal: 'unknown',
        source_app: 'productpage',
        source_version: 'v1',
        destination_workload: 'ratings-v1',
        destination_workload_namespace: 'default',
        destination_principal: 'spiffe://cluster.local/ns/default/sa/ratings',
        destination_app: 'ratings',
        destination_version: 'v1',
        destination_service: 'ratings.default.svc.cluster.local',
        destination_service_name: 'ratings',
        destination_service_namespace: 'default',
        request_protocol: 'http',
        response_code: '200',
        grpc_response_status: '',
        response_flags: '-',
        connection_security_policy: 'none',
      },
    ])
  })

  it('403 and 429 are recorded with Istio labels and Weft’s denial series', async () => {
    for (const path of ['/admin', '/limited']) {
      await new Promise<void>((resolve) => {
        httpRequest({ host: '127.0.0.1', port, path }, (res) => res.resume().on('end', resolve)).end()
      })
    }
    const samples = await metrics.scrape()
    const codes = series(samples, 'istio_requests_total', {
      reporter: 'destination',
      source_workload: 'unknown',
    })
      .map((s) => s.labels.response_code)
      .sort()
    expect(codes).toEqual(['403', '429'])
    expect(
      series(samples, 'weft_authorization_denials_total', {
        policy: 'AuthorizationPolicy/default/deny-admin',
        stage: 'authorization',
      })[0]?.value,
    ).toBe(1)
    expect(
      series(samples, 'weft_rate_limited_requests_total', { policy: 'RateLimitPolicy/default/ratings#0' })[0]
        ?.value,
    ).toBe(1)
  })

  it('x-request-id: generated when absent, kept when present, propagated to calls made while serving', async () => {
    const get = (headers: Record<string, string>) =>
      new Promise<string>((resolve) => {
        httpRequest({ host: '127.0.0.1', port, path: '/work', headers }, (res) => {
          let text = ''
          res.on('data', (c) => (text += c)).on('end', () => resolve(text))
        }).end()
      })
    const generated = (await get({})).replace('served ', '')
    expect(generated).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect((await upstreams[0]?.last())?.headers['x-request-id']).toBe(generated)
    expect(await get({ 'x-request-id': 'given-1' })).toBe('served given-1')
    expect((await upstreams[0]?.last())?.headers['x-request-id']).toBe('given-1')
    // The inner call's CLIENT span is a child of the SERVER span, without any context manager.
    const spans = tracing.spans()
    const servers = spans.filter((s) => s.kind === SPAN_KIND.SERVER && s.attributes['url.path'] === '/work')
    const inner = spans.filter((s) => s.attributes['url.full'] === 'http://reviews:9080/inner')
    expect(servers).toHaveLength(2)
    for (const server of servers) {
      expect(inner.some((s) => s.parentSpanContext?.spanId === server.spanContext().spanId)).toBe(true)
    }
    // The server side's access log is on (mode SERVER), the client side's is not.
    const lines = log.map((l) => JSON.parse(l))
    expect(lines.every((l) => l.reporter === 'destination')).toBe(true)
    expect(lines.find((l) => l.request_id === 'given-1')).toMatchObject({
      method: 'GET',
      path: '/work',
      response_code: 200,
      response_flags: '-',
      connection_security_policy: 'none',
      destination_principal: 'spiffe://cluster.local/ns/default/sa/ratings',
      upstream_cluster: `inbound|${port}||`,
    })
  })
})
