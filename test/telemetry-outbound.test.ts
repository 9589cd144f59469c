import * as grpc from '@grpc/grpc-js'
import { createMeshDispatcher, meshGrpc } from '@weft/client'
import { compileSnapshot, loadConfig, type RegistryEndpoint, type Snapshot } from '@weft/config'
import { createTelemetry, type Telemetry } from '@weft/telemetry'
import type { Dispatcher } from 'undici'
import { request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Reviews } from './support/reviews-client.js'
import { inMemoryTracing, SPAN_KIND } from './support/telemetry-otel.js'
import { metricsEndpoint, type Sample } from './support/telemetry-scrape.js'
import { startUpstream, stopAll, type Upstream } from './support/upstreams.js'

const RULES = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /uh}}]
    route: [{destination: {host: reviews, subset: v9}}]
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v9, labels: {version: v9}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings}
spec:
  host: ratings
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: details}
spec:
  hosts: [details]
  http:
  - route: [{destination: {host: details}}]
    retries: {attempts: 2, retryOn: 5xx}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: grpc-reviews}
spec:
  hosts: [grpc-reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}
    route: [{destination: {host: grpc-reviews}}]
  - route: [{destination: {host: grpc-reviews}}]
`

const telemetryResource = (name: string, spec: string) => `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: ${name}, namespace: istio-system}
spec:
${spec}`

const upstreams: Upstream[] = []
let registry: RegistryEndpoint[] = []
let current: Snapshot
let telemetry: Telemetry
let dispatcher: Dispatcher
let endpoint: Awaited<ReturnType<typeof metricsEndpoint>>
const tracing = inMemoryTracing()
const logLines: string[] = []

function use(extra = ''): void {
  const loaded = loadConfig([{ file: 'telemetry.yaml', text: RULES + extra }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  current = compileSnapshot(loaded.resources, { registry })
}

const at = (u: Upstream, service: string, version: string): RegistryEndpoint => ({
  service,
  namespace: 'default',
  address: '127.0.0.1',
  port: u.port,
  labels: { app: service, version },
})

async function call(url: string, headers: Record<string, string> = {}) {
  const res = await request(url, { dispatcher, headers })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text }
}

function series(samples: Sample[], name: string, match: Record<string, string>): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
}

const SOURCE = {
  reporter: 'source',
  source_workload: 'productpage-v1',
  source_workload_namespace: 'default',
  source_principal: 'unknown',
  source_app: 'productpage',
  source_version: 'v1',
  connection_security_policy: 'unknown',
}

beforeAll(async () => {
  const [reviews, ratings, details, grpcReviews] = await Promise.all([
    startUpstream('reviews-v1'),
    startUpstream('ratings-v1', { UPSTREAM_DELAY_MS: '400' }),
    startUpstream('details-v1', { UPSTREAM_STATUS: '503' }),
    startUpstream('grpc-reviews-v1', {}, 'grpc'),
  ])
  upstreams.push(reviews, ratings, details, grpcReviews)
  registry = [
    at(reviews, 'reviews', 'v1'),
    at(ratings, 'ratings', 'v1'),
    at(details, 'details', 'v1'),
    at(grpcReviews, 'grpc-reviews', 'v1'),
  ]
  use()
  telemetry = createTelemetry({
    service: 'productpage',
    labels: { version: 'v1' },
    snapshot: () => current,
    tracerProvider: tracing.provider,
    accessLog: { write: (line: string) => logLines.push(line) },
  })
  dispatcher = createMeshDispatcher({
    snapshot: () => current,
    source: { namespace: 'default', labels: { app: 'productpage', version: 'v1' } },
    telemetry: telemetry.outbound,
  })
  endpoint = await metricsEndpoint(telemetry.metricsHandler)
}, 30_000)

afterAll(async () => {
  await dispatcher?.close()
  await endpoint?.close()
  await stopAll(upstreams)
})

beforeEach(() => {
  use()
  tracing.reset()
  logLines.length = 0
})

describe('source-side metrics, scraped from /metrics over a real socket', () => {
  it('a 200 from reviews-v1 is one series with every Istio label exact', async () => {
    expect((await call('http://reviews:9080/ok')).status).toBe(200)
    const samples = await endpoint.scrape()
    const found = series(samples, 'istio_requests_total', {
      response_code: '200',
      destination_service_name: 'reviews',
    })
    expect(found).toEqual([
      {
        name: 'istio_requests_total',
        value: 1,
        labels: {
          ...SOURCE,
          destination_workload: 'reviews-v1',
          destination_workload_namespace: 'default',
          destination_principal: 'unknown',
          destination_app: 'reviews',
          destination_version: 'v1',
          destination_service: 'reviews.default.svc.cluster.local',
          destination_service_name: 'reviews',
          destination_service_namespace: 'default',
          request_protocol: 'http',
          response_code: '200',
          grpc_response_status: '',
          response_flags: '-',
        },
      },
    ])
    const duration = series(samples, 'istio_request_duration_milliseconds_count', {
      response_code: '200',
      destination_service_name: 'reviews',
    })
    expect(duration.map((s) => s.value)).toEqual([1])
    const buckets = series(samples, 'istio_request_duration_milliseconds_bucket', {
      response_code: '200',
      destination_service_name: 'reviews',
    }).map((s) => s.labels.le)
    expect(buckets).toEqual([
      '0.5',
      '1',
      '5',
      '10',
      '25',
      '50',
      '100',
      '250',
      '500',
      '1000',
      '2500',
      '5000',
      '10000',
      '30000',
      '60000',
      '300000',
      '600000',
      '1800000',
      '3600000',
      '+Inf',
    ])
    const responseBytes = series(samples, 'istio_response_bytes_sum', {
      response_code: '200',
      destination_service_name: 'reviews',
    })
    expect(responseBytes[0]?.value).toBeGreaterThan(0)
  })

  it('503 UH: no endpoint in the subset, destination workload unknown', async () => {
    const res = await call('http://reviews:9080/uh')
    expect(res.status).toBe(503)
    const found = series(await endpoint.scrape(), 'istio_requests_total', { response_flags: 'UH' })
    expect(found.map((s) => s.labels)).toEqual([
      {
        ...SOURCE,
        destination_workload: 'unknown',
        destination_workload_namespace: 'unknown',
        destination_principal: 'unknown',
        destination_app: 'unknown',
        destination_version: 'unknown',
        destination_service: 'reviews.default.svc.cluster.local',
        destination_service_name: 'reviews',
        destination_service_namespace: 'default',
        request_protocol: 'http',
        response_code: '503',
        grpc_response_status: '',
        response_flags: 'UH',
      },
    ])
  })

  it('503 UO: the connection pool refuses the third concurrent call', async () => {
    const results = await Promise.all([1, 2, 3].map(() => call('http://ratings:9080/slow')))
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 503])
    const samples = await endpoint.scrape()
    const uo = series(samples, 'istio_requests_total', {
      destination_service_name: 'ratings',
      response_flags: 'UO',
    })
    expect(uo).toHaveLength(1)
    expect(uo[0]?.value).toBe(1)
    // The endpoint was picked before its pool refused the request, as in Envoy's router.
    expect(uo[0]?.labels).toMatchObject({ response_code: '503', destination_workload: 'ratings-v1' })
    const ok = series(samples, 'istio_requests_total', {
      destination_service_name: 'ratings',
      response_code: '200',
    })
    expect(ok[0]?.labels).toMatchObject({ destination_workload: 'ratings-v1', response_flags: '-' })
    expect(ok[0]?.value).toBe(2)
  })

  it('gRPC: status in grpc_response_status, HTTP 200 in response_code, protocol grpc', async () => {
    const mesh = meshGrpc({
      snapshot: () => current,
      source: { namespace: 'default', labels: { app: 'productpage', version: 'v1' } },
      telemetry: telemetry.outbound,
    })
    const client = new Reviews(
      mesh.target('grpc-reviews', 9080),
      grpc.credentials.createInsecure(),
      mesh.channelOptions,
    )
    const get = (user: string) =>
      new Promise<number>((resolve) => {
        const md = new grpc.Metadata()
        md.set('end-user', user)
        client.Get({}, md, (error) => resolve(error ? error.code : 0))
      })
    try {
      expect(await get('ann')).toBe(0)
      expect(await get('jason')).toBe(grpc.status.UNAVAILABLE)
    } finally {
      client.close()
      mesh.close()
    }
    const samples = await endpoint.scrape()
    const ok = series(samples, 'istio_requests_total', {
      destination_service_name: 'grpc-reviews',
      grpc_response_status: '0',
    })
    expect(ok.map((s) => s.labels)).toEqual([
      {
        ...SOURCE,
        destination_workload: 'grpc-reviews-v1',
        destination_workload_namespace: 'default',
        destination_principal: 'unknown',
        destination_app: 'grpc-reviews',
        destination_version: 'v1',
        destination_service: 'grpc-reviews.default.svc.cluster.local',
        destination_service_name: 'grpc-reviews',
        destination_service_namespace: 'default',
        request_protocol: 'grpc',
        response_code: '200',
        grpc_response_status: '0',
        response_flags: '-',
      },
    ])
    const aborted = series(samples, 'istio_requests_total', {
      destination_service_name: 'grpc-reviews',
      grpc_response_status: '14',
    })
    expect(
      aborted.map((s) => [s.labels.response_code, s.labels.response_flags, s.labels.request_protocol]),
    ).toEqual([['200', 'FI', 'grpc']])
    const spans = tracing
      .spans()
      .filter((s) => s.kind === SPAN_KIND.CLIENT && s.name === 'bookinfo.Reviews/Get')
    expect(spans).toHaveLength(2)
    expect(spans.map((s) => s.attributes['rpc.grpc.status_code']).sort()).toEqual([0, 14])
  })

  it('retries are counted in weft_retries_total', async () => {
    expect((await call('http://details:9080/x')).status).toBe(503)
    const retries = series(await endpoint.scrape(), 'weft_retries_total', {
      cluster: 'outbound|9080||details.default.svc.cluster.local',
    })
    expect(retries[0]?.value).toBeGreaterThanOrEqual(2)
  })
})

describe('the Telemetry resource', () => {
  it('REQUEST_COUNT disabled: istio_requests_total has no series, the others stay', async () => {
    await call('http://reviews:9080/before')
    use(
      telemetryResource(
        'no-count',
        '  metrics:\n  - providers: [{name: prometheus}]\n    overrides:\n    - match: {metric: REQUEST_COUNT}\n      disabled: true\n',
      ),
    )
    await call('http://reviews:9080/after')
    // Removal of existing series is asynchronous (prom-client collects first): poll briefly.
    let samples = await endpoint.scrape()
    for (let i = 0; i < 20 && series(samples, 'istio_requests_total', {}).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 25))
      samples = await endpoint.scrape()
    }
    expect(series(samples, 'istio_requests_total', {})).toEqual([])
    expect(
      series(samples, 'istio_request_duration_milliseconds_count', { destination_service_name: 'reviews' })
        .length,
    ).toBeGreaterThan(0)
  })

  it('tagOverrides: REMOVE empties a label, UPSERT sets a literal', async () => {
    use(
      telemetryResource(
        'tags',
        '  metrics:\n  - overrides:\n    - match: {metric: REQUEST_COUNT, mode: CLIENT}\n      tagOverrides:\n        destination_version: {operation: REMOVE}\n        destination_app: {value: "\'catalog\'"}\n',
      ),
    )
    await call('http://reviews:9080/tags')
    const found = series(await endpoint.scrape(), 'istio_requests_total', { destination_app: 'catalog' })
    expect(found).toHaveLength(1)
    expect(found[0]?.labels.destination_version).toBe('')
    expect(telemetry.policy().ignored).toEqual([])
  })

  it('randomSamplingPercentage 0: no span, yet metrics are recorded', async () => {
    use(telemetryResource('no-traces', '  tracing:\n  - randomSamplingPercentage: 0\n'))
    expect((await call('http://reviews:9080/unsampled')).status).toBe(200)
    expect(tracing.spans()).toEqual([])
  })

  it("an access-log filter 'response.code >= 400' logs only failures, as JSON lines", async () => {
    await call('http://reviews:9080/not-logged-yet')
    expect(logLines).toEqual([])
    use(
      telemetryResource(
        'log-failures',
        "  accessLogging:\n  - providers: [{name: envoy}]\n    filter: {expression: 'response.code >= 400'}\n",
      ),
    )
    await call('http://reviews:9080/fine')
    await call('http://reviews:9080/uh/broken', { 'x-request-id': 'req-1' })
    expect(logLines).toHaveLength(1)
    const line = JSON.parse(logLines[0] as string)
    expect(line).toMatchObject({
      reporter: 'source',
      method: 'GET',
      path: '/uh/broken',
      protocol: 'HTTP/1.1',
      response_code: 503,
      response_flags: 'UH',
      request_id: 'req-1',
      authority: 'reviews:9080',
      destination_service: 'reviews.default.svc.cluster.local',
      route_name: 'VirtualService/default/reviews#http[0]',
    })
    expect(typeof line.duration).toBe('number')
    expect(Number.isNaN(Date.parse(line.start_time))).toBe(false)
  })
})

describe('client spans', () => {
  it('a call retried twice is one CLIENT span with three attempt children, each resend counted', async () => {
    expect((await call('http://details:9080/retry')).status).toBe(503)
    const spans = tracing.spans()
    const parent = spans.find((s) => s.attributes['url.full'] === 'http://details:9080/retry')
    expect(parent?.kind).toBe(SPAN_KIND.CLIENT)
    const attempts = spans.filter((s) => s.parentSpanContext?.spanId === parent?.spanContext().spanId)
    expect(attempts).toHaveLength(3)
    expect(
      attempts.every((s) => s.kind === SPAN_KIND.CLIENT && s.attributes['http.response.status_code'] === 503),
    ).toBe(true)
    expect(attempts.map((s) => s.attributes['http.request.resend_count'] ?? 0).sort()).toEqual([0, 1, 2])
    expect(parent?.attributes['http.response.status_code']).toBe(503)
    expect(parent?.attributes['weft.response_flags']).toBe('URX')
  })

  it('each attempt carries its context (W3C and B3), an x-request-id and the peer header', async () => {
    await call('http://reviews:9080/headers')
    const seen = await upstreams[0]?.last()
    const attempt = tracing.spans().find((s) => s.parentSpanContext && s.attributes['network.peer.port'])
    const { traceId, spanId } = attempt?.spanContext() ?? { traceId: '', spanId: '' }
    expect(seen?.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`)
    expect(seen?.headers['x-b3-traceid']).toBe(traceId)
    expect(seen?.headers['x-b3-spanid']).toBe(spanId)
    expect(seen?.headers.b3).toBe(`${traceId}-${spanId}-1`)
    expect(seen?.headers['x-request-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    )
    expect(seen?.headers['x-weft-peer']).toBe('productpage-v1;default;productpage;v1')
  })

  it('a host outside the mesh gets the trace context but not the peer header', async () => {
    const upstream = upstreams[0] as Upstream
    await call(`http://127.0.0.1:${upstream.port}/outside`)
    const seen = await upstream.last()
    expect(seen?.url).toBe('/outside')
    expect(seen?.headers.traceparent).toBeDefined()
    expect(seen?.headers['x-weft-peer']).toBeUndefined()
  })
})
