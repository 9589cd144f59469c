// A service in its own process for the cross-process tracing test: a plain node:http server
// reporting through @weft/telemetry's inbound API, with an in-memory span exporter. It tells its
// port over IPC and answers the message 'spans' with the spans it finished.
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import { compileSnapshot } from '@weft/config'
import { createTelemetry } from '@weft/telemetry'

const require = createRequire(new URL('../../packages/telemetry/package.json', import.meta.url))
const {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} = require('@opentelemetry/sdk-trace-base')

const exporter = new InMemorySpanExporter()
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const snapshot = compileSnapshot([])
const telemetry = createTelemetry({
  service: 'ratings',
  labels: { version: 'v1' },
  snapshot: () => snapshot,
  tracerProvider: provider,
})

const server = createServer((req, res) => {
  const call = telemetry.inbound.start({
    protocol: 'http',
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    authority: req.headers.host,
    headers: req.headers,
    remoteAddress: req.socket.remoteAddress,
    localPort: server.address().port,
  })
  call.run(() => {
    const body = JSON.stringify({ requestId: call.requestId, traceparent: req.headers.traceparent ?? null })
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(body, () => call.end({ status: 200, bytesOut: Buffer.byteLength(body) }))
  })
})
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }))
process.on('message', (message) => {
  if (message !== 'spans') return
  process.send?.({
    spans: exporter.getFinishedSpans().map((s) => ({
      name: s.name,
      kind: s.kind,
      traceId: s.spanContext().traceId,
      spanId: s.spanContext().spanId,
      parentSpanId: s.parentSpanContext?.spanId,
      attributes: s.attributes,
    })),
  })
})
process.on('disconnect', () => process.exit(0))
