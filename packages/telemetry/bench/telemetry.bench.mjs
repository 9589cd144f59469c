#!/usr/bin/env node
// What telemetry costs a meshed call, measured side by side in one run:
// 1. per call, in process: recording one finished request (Istio's four metrics), with tracing
//    off and on, against a loop that records nothing;
// 2. throughput of mesh.dispatcher against a real upstream in another process, with telemetry
//    off, metrics only, and metrics + tracing, in interleaved rounds (A B C A B C …) so that the
//    machine's drift cancels.
// Tracing runs the OpenTelemetry SDK as applications deploy it: a BatchSpanProcessor (the
// SDK's default) in front of an exporter that drops the spans, so the network is not measured.
// Targets (issue #7): metrics add ≤ 3 µs per call; full tracing keeps ≥ 0.75 of the throughput
// with tracing off.
// Run: pnpm build && node packages/telemetry/bench/telemetry.bench.mjs [-o json]
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { compileSnapshot, loadConfig } from '@weft/config'
// @weft/client depends on @weft/telemetry, not the reverse: the bench takes its build by path.
import { createMeshDispatcher } from '../../client/dist/index.js'
import { createTelemetry } from '../dist/index.js'

const json = process.argv.includes('-o') && process.argv[process.argv.indexOf('-o') + 1] === 'json'
const ROUNDS = 5
const ROUND_MS = 1500
const CONCURRENCY = 16
const MICRO_CALLS = 200_000

const server = fork(fileURLToPath(new URL('./echo-server.mjs', import.meta.url)), [], { stdio: 'ignore' })
const port = await new Promise((resolve) => server.once('message', (m) => resolve(m.port)))

const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
    retries: {attempts: 2, retryOn: "5xx,connect-failure"}
    timeout: 5s
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
`
const snapshot = compileSnapshot(loadConfig([{ file: 'bench.yaml', text: yaml }]).resources, {
  registry: [
    {
      service: 'reviews',
      namespace: 'default',
      address: '127.0.0.1',
      port,
      labels: { app: 'reviews', version: 'v1' },
    },
  ],
})
const source = { namespace: 'default', labels: { app: 'productpage', version: 'v1' } }
// Spans are made and ended in full; the exporter only drops them, so the cost is Weft's and the SDK's.
const dropping = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} }
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] })
const quiet = { write: () => true }

const telemetryOf = (tracing) =>
  createTelemetry({
    service: 'productpage',
    labels: { version: 'v1' },
    snapshot: () => snapshot,
    tracing,
    tracerProvider: provider,
    accessLog: quiet,
  })
const metricsOnly = telemetryOf(false)
const fullTracing = telemetryOf(true)

// 1. Per call, in process.
const endpoint = snapshot.service('reviews.default.svc.cluster.local').endpoints[0]
const start = {
  protocol: 'http',
  method: 'GET',
  scheme: 'http',
  authority: 'reviews:9080',
  path: '/reviews/0',
  header: () => undefined,
  requestBytes: 0,
}
const event = {
  host: 'reviews.default.svc.cluster.local',
  rule: 'VirtualService/default/reviews#http[0]',
  target: { host: 'reviews.default.svc.cluster.local', subset: 'v1', port: 9080 },
  endpoint: `127.0.0.1:${port}`,
  destination: endpoint,
  status: 200,
  flags: [],
  attempts: 1,
  durationMs: 1.2,
  error: undefined,
  responseBytes: 36,
}
function perCall(telemetry) {
  const headers = {}
  const t = process.hrtime.bigint()
  for (let i = 0; i < MICRO_CALLS; i++) {
    if (telemetry) {
      const call = telemetry.outbound.start(start)
      const attempt = call.attempt(1, endpoint, headers)
      attempt.run(() => {})
      attempt.end(200, undefined)
      call.end(event)
    }
  }
  return Number(process.hrtime.bigint() - t) / 1000 / MICRO_CALLS
}
const micro = { none: [], metrics: [], tracing: [] }
for (let r = 0; r < 4; r++) {
  micro.none.push(perCall(undefined))
  micro.metrics.push(perCall(metricsOnly))
  micro.tracing.push(perCall(fullTracing))
}
/** The median; of an even count, the mean of the middle two. */
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const metricsUs = +(median(micro.metrics) - median(micro.none)).toFixed(2)
const tracingUs = +(median(micro.tracing) - median(micro.none)).toFixed(2)

// 2. Throughput through real sockets.
const dispatchers = {
  'telemetry off': createMeshDispatcher({ snapshot: () => snapshot, source }),
  'metrics only': createMeshDispatcher({ snapshot: () => snapshot, source, telemetry: metricsOnly.outbound }),
  'metrics + tracing': createMeshDispatcher({
    snapshot: () => snapshot,
    source,
    telemetry: fullTracing.outbound,
  }),
}

async function round(dispatcher) {
  const end = performance.now() + ROUND_MS
  let count = 0
  const worker = async () => {
    while (performance.now() < end) {
      const res = await dispatcher.request({
        origin: 'http://reviews:9080',
        path: '/reviews/0',
        method: 'GET',
      })
      await res.body.dump()
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`)
      count++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return count / ((performance.now() - started) / 1000)
}

const rps = Object.fromEntries(Object.keys(dispatchers).map((k) => [k, []]))
for (const d of Object.values(dispatchers)) await round(d)
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, d] of Object.entries(dispatchers)) {
    process.stderr.write(`  round ${r + 1}/${ROUNDS}: ${name}          \r`)
    rps[name].push(await round(d))
  }
}
process.stderr.write(' '.repeat(60) + '\r')
for (const d of Object.values(dispatchers)) await d.close()
server.kill()

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length
const rows = Object.entries(rps).map(([name, values]) => ({ name, rps: Math.round(mean(values)) }))
const [off, metrics, traced] = rows.map((r) => r.rps)
const summary = {
  metricsUsPerCall: metricsUs,
  metricsAndTracingUsPerCall: tracingUs,
  metricsThroughputRatio: +(metrics / off).toFixed(3),
  tracingThroughputRatio: +(traced / metrics).toFixed(3),
}
if (json) {
  console.log(
    JSON.stringify({ concurrency: CONCURRENCY, rounds: ROUNDS, roundMs: ROUND_MS, rows, summary }, null, 2),
  )
} else {
  console.log(`per call, in process (median of 4 runs of ${MICRO_CALLS} calls, minus an empty loop):`)
  console.log(`  metrics: ${metricsUs} µs (target ≤ 3: ${metricsUs <= 3 ? 'met' : 'MISSED'})`)
  console.log(`  metrics + tracing (CLIENT span, attempt span, context injection): ${tracingUs} µs`)
  console.log(
    `mesh.dispatcher to a real upstream, ${CONCURRENCY} callers, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms:`,
  )
  console.log('telemetry               req/s')
  for (const r of rows) console.log(`${r.name.padEnd(20)} ${String(r.rps).padStart(8)}`)
  console.log(`  metrics only vs off: ${summary.metricsThroughputRatio}`)
  console.log(
    `  metrics + tracing vs tracing off: ${summary.tracingThroughputRatio} (target ≥ 0.75: ${summary.tracingThroughputRatio >= 0.75 ? 'met' : 'MISSED'})`,
  )
}
