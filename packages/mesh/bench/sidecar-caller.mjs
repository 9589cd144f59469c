// One client of sidecar.bench.mjs, in its own process so that its CPU and memory are its own.
// SPEC_JSON (argv[2]) says which:
//   { kind: 'undici', origin }   an undici Pool to `origin` (the server, or the client-side proxy);
//   { kind: 'weft', config, registry, identity?, tracing }
//                                mesh.dispatcher from a standalone createMesh, calling `reviews`
//                                by its mesh name; with `tracing`, an OpenTelemetry SDK is
//                                registered first, as an application would.
// The parent sends { round: { ms, callers } }; the caller runs that many concurrent request
// loops for that long and answers with the count, each latency, and its own CPU time and RSS.
import { createRequire } from 'node:module'
import { Pool } from 'undici'

const spec = JSON.parse(process.argv[2])
const MAX_CONNECTIONS = 16

let dispatch
let close
if (spec.kind === 'weft') {
  if (spec.tracing) {
    // The SDK is a dev dependency of @weft/telemetry, not of the mesh: take that copy.
    const fromTelemetry = createRequire(new URL('../../telemetry/package.json', import.meta.url))
    const { trace } = fromTelemetry('@opentelemetry/api')
    const { BasicTracerProvider, BatchSpanProcessor } = fromTelemetry('@opentelemetry/sdk-trace-base')
    // Spans are made, batched and ended in full; only the export is skipped, so no network is measured.
    const dropping = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} }
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] }),
    )
  }
  const { createMesh } = await import('@weft/mesh')
  const mesh = await createMesh({
    service: 'productpage',
    namespace: 'default',
    labels: { version: 'v1' },
    config: spec.config,
    registry: spec.registry,
    ...(spec.identity ? { identity: spec.identity } : {}),
    telemetry: { tracing: spec.tracing },
  })
  const options = { origin: 'http://reviews:9080', path: '/reviews/0', method: 'GET' }
  dispatch = () => mesh.dispatcher.request(options)
  close = () => mesh.close()
} else {
  const pool = new Pool(spec.origin, { connections: MAX_CONNECTIONS })
  const options = { path: '/reviews/0', method: 'GET' }
  dispatch = () => pool.request(options)
  close = () => pool.close()
}

async function round(ms, callers) {
  const latencies = []
  let failure
  const cpu = process.cpuUsage()
  const started = performance.now()
  const end = started + ms
  const loop = async () => {
    while (performance.now() < end && !failure) {
      const t = performance.now()
      const res = await dispatch()
      await res.body.dump()
      if (res.statusCode !== 200) failure = `status ${res.statusCode}`
      latencies.push((performance.now() - t) * 1000)
    }
  }
  await Promise.all(Array.from({ length: callers }, loop))
  const elapsedMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  return {
    failure,
    count: latencies.length,
    elapsedMs,
    cpuUs: used.user + used.system,
    rssBytes: process.memoryUsage.rss(),
    latencies: Float64Array.from(latencies),
  }
}

process.on('message', async ({ round: r }) => {
  try {
    process.send(await round(r.ms, r.callers))
  } catch (error) {
    process.send({ failure: `${error.name}: ${error.message}` })
  }
})
process.on('disconnect', async () => {
  await close()
  process.exit(0)
})
process.send({ ready: true })
