import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { createTelemetry, type Telemetry } from './create-telemetry.js'
import type { OutboundEnd } from './outbound-telemetry.js'

// Every standard metric off: the graph's aggregates must not depend on the Telemetry policy.
const METRICS_OFF = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides: [{match: {metric: ALL_METRICS}, disabled: true}]
`

function snapshotOf(text: string): Snapshot {
  const loaded = loadConfig([{ file: 'telemetry.yaml', text }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  return compileSnapshot(loaded.resources, {
    trusted: true,
    registry: [
      {
        service: 'reviews',
        namespace: 'default',
        address: '127.0.0.1',
        port: 9080,
        labels: { app: 'reviews', version: 'v2' },
        mtls: true,
      },
    ],
  })
}

function setup(): { telemetry: Telemetry; snapshot: Snapshot; tick: (ms: number) => void } {
  const snapshot = snapshotOf(METRICS_OFF)
  let now = 1_000
  const telemetry = createTelemetry({
    service: 'productpage',
    labels: { version: 'v1' },
    snapshot: () => snapshot,
    tracing: false,
    now: () => now,
  })
  return { telemetry, snapshot, tick: (ms) => (now += ms) }
}

const HOST = 'reviews.default.svc.cluster.local'

function call(
  t: Telemetry,
  snapshot: Snapshot,
  end: Partial<OutboundEnd>,
  protocol: 'http' | 'grpc' = 'http',
) {
  const destination = snapshot.service(HOST)?.endpoints[0]
  t.outbound
    .start({
      protocol,
      method: 'GET',
      scheme: 'http',
      authority: 'reviews:9080',
      path: '/reviews/0',
      header: () => undefined,
      requestBytes: 0,
    })
    ?.end({
      host: HOST,
      rule: undefined,
      target: { host: HOST, port: 9080 },
      endpoint: '127.0.0.1:9080',
      ...(destination ? { destination } : {}),
      status: 200,
      flags: [],
      attempts: 1,
      durationMs: 7,
      error: undefined,
      ...end,
    })
}

const buckets = (at: Record<number, number>) => Array.from({ length: 20 }, (_, i) => at[i] ?? 0)

describe('EdgeAggregator, fed by both reporters', () => {
  it('counts a source edge with codes, errors, flags and duration buckets, with every metric disabled', async () => {
    const { telemetry, snapshot } = setup()
    call(telemetry, snapshot, { durationMs: 3 })
    call(telemetry, snapshot, { durationMs: 7 })
    call(telemetry, snapshot, { durationMs: 40 })
    call(telemetry, snapshot, { status: 503, flags: ['UF', 'URX'], durationMs: 40 })
    call(telemetry, snapshot, { status: undefined, flags: ['UF'], durationMs: 2_000 })
    expect(await telemetry.metrics.getSingleMetricAsString('istio_requests_total')).not.toMatch(
      /^istio_requests_total\{/m,
    )
    expect(telemetry.edges.drain()).toEqual([
      {
        reporter: 'source',
        source: { namespace: 'default', workload: 'productpage-v1', app: 'productpage', version: 'v1' },
        destination: {
          service: HOST,
          namespace: 'default',
          workload: 'reviews-v2',
          app: 'reviews',
          version: 'v2',
        },
        protocol: 'http',
        mtls: true,
        requests: 5,
        errors: 2,
        codes: { 200: 3, 503: 1, 0: 1 },
        flags: { UF: 2, URX: 1 },
        // Bounds 0.5, 1, 5, 10, 25, 50 … 2500: 3 ms → 5, 7 ms → 10, 40 ms → 50 (twice), 2 s → 2500.
        durationBuckets: buckets({ 2: 1, 3: 1, 5: 2, 10: 1 }),
      },
    ])
  })

  it.each([
    { grpcStatus: 0, errors: 0 },
    { grpcStatus: 14, errors: 1 },
  ])('gRPC status $grpcStatus: $errors error(s), counted under the gRPC status', ({ grpcStatus, errors }) => {
    const { telemetry, snapshot } = setup()
    call(telemetry, snapshot, { status: 200, grpcStatus }, 'grpc')
    const [edge] = telemetry.edges.drain()
    expect(edge).toMatchObject({ protocol: 'grpc', requests: 1, errors, codes: { [grpcStatus]: 1 } })
  })

  it('counts a destination edge with the caller the peer header names, and mutual TLS as the connection was', () => {
    const { telemetry, tick } = setup()
    for (const [mtls, status] of [
      [true, 200],
      [true, 200],
      [false, 500],
    ] as const) {
      const inbound = telemetry.inbound.start({
        protocol: 'http',
        method: 'GET',
        path: '/',
        authority: 'productpage:9080',
        headers: { 'x-weft-peer': 'gateway-v1;ingress;gateway;v1' },
        mtls,
      })
      tick(12)
      inbound.end({ status })
    }
    const edges = telemetry.edges.drain()
    expect(edges).toHaveLength(2)
    const source = { namespace: 'ingress', workload: 'gateway-v1', app: 'gateway', version: 'v1' }
    const destination = {
      service: 'productpage.default.svc.cluster.local',
      namespace: 'default',
      workload: 'productpage-v1',
      app: 'productpage',
      version: 'v1',
    }
    expect(edges).toContainEqual({
      reporter: 'destination',
      source,
      destination,
      protocol: 'http',
      mtls: true,
      requests: 2,
      errors: 0,
      codes: { 200: 2 },
      flags: {},
      durationBuckets: buckets({ 4: 2 }),
    })
    expect(edges).toContainEqual(
      expect.objectContaining({ mtls: false, requests: 1, errors: 1, codes: { 500: 1 } }),
    )
  })

  it('drain hands over the delta since the previous drain and starts from zero', () => {
    const { telemetry, snapshot } = setup()
    call(telemetry, snapshot, {})
    call(telemetry, snapshot, {})
    expect(telemetry.edges.drain().map((e) => e.requests)).toEqual([2])
    expect(telemetry.edges.drain()).toEqual([])
    call(telemetry, snapshot, {})
    const [edge] = telemetry.edges.drain()
    expect(edge?.requests).toBe(1)
    expect(edge?.durationBuckets.reduce((a, b) => a + b, 0)).toBe(1)
    // A quiet interval lets the key go; the next call builds it again.
    expect(telemetry.edges.drain()).toEqual([])
    expect(telemetry.edges.drain()).toEqual([])
    call(telemetry, snapshot, {})
    expect(telemetry.edges.drain().map((e) => e.requests)).toEqual([1])
  })

  it('names this workload for its reports', () => {
    expect(setup().telemetry.edges.workload).toEqual({
      namespace: 'default',
      service: 'productpage',
      workload: 'productpage-v1',
      app: 'productpage',
      version: 'v1',
    })
  })
})
