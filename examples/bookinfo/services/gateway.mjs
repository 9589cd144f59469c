// The ingress: Bookinfo's front door, as Istio's ingress gateway is. Browsers and the demo speak
// plain HTTP to it; it calls productpage through the mesh — so with STRICT mutual TLS and
// authorization policies in force the page still loads, as it does behind Istio's gateway.
import { createServer } from 'node:http'
import { createMesh } from '@weft/mesh'
import { stopOnSignal } from './serve.mjs'

const mesh = await createMesh({ service: 'istio-ingressgateway', labels: { version: 'v1' } })
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
])

const server = createServer(async (req, res) => {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  const headers = Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name))
  try {
    const upstream = await mesh.fetch(`http://productpage:9080${req.url}`, {
      method: req.method,
      headers: headers.flatMap(([name, v]) => (Array.isArray(v) ? v.map((x) => [name, x]) : [[name, v]])),
      body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      redirect: 'manual',
    })
    const out = {}
    for (const [name, value] of upstream.headers) {
      if (HOP_BY_HOP.has(name) || name === 'content-encoding') continue
      out[name] = name === 'set-cookie' ? upstream.headers.getSetCookie() : value
    }
    res.writeHead(upstream.status, out)
    res.end(Buffer.from(await upstream.arrayBuffer()))
  } catch (error) {
    res.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream connect error: ${error.message}`)
  }
})

const wanted = Number(process.env.GATEWAY_PORT ?? 0)
await new Promise((listening, failed) => {
  server.once('error', (error) => {
    // A port already taken (a second demo, another program) is no reason not to start.
    if (error.code === 'EADDRINUSE' && wanted !== 0) server.listen(0, '127.0.0.1', listening)
    else failed(error)
  })
  server.listen(wanted, '127.0.0.1', listening)
})
// The ingress's own side of Istio's metrics (reporter="source" for every call to productpage).
const metrics = createServer(mesh.metricsHandler)
await new Promise((listening) => metrics.listen(0, '127.0.0.1', listening))
const ready = {
  service: mesh.service,
  version: 'v1',
  port: server.address().port,
  metricsPort: metrics.address().port,
}
if (process.send) process.send({ ready })
else console.log(`ingress on http://127.0.0.1:${ready.port}/productpage`)
stopOnSignal(async () => {
  for (const s of [server, metrics]) {
    s.closeAllConnections()
    await new Promise((closed) => s.close(closed))
  }
  await mesh.close()
})
