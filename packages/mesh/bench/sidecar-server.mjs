// The upstream of sidecar.bench.mjs, in its own process, answering every request with the same
// small JSON body over kept-alive connections. Two kinds:
//   plain             a bare node:http server (behind raw undici, the Weft client, or the HAProxy pair);
//   weft SPEC_JSON    the same handler behind Weft's inbound policy (mesh.express(), used as plain
//                     (req, res, next) middleware so that no Express router is measured), served by
//                     mesh.listen with the PeerAuthentication in force: mutual TLS, STRICT.
// It reports its port over IPC and exits when the parent goes away.
import { createServer } from 'node:http'
import { createMesh } from '@weft/mesh'

const BODY = JSON.stringify({ ok: true, service: 'reviews' })

function reply(req, res) {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) })
    res.end(BODY)
  })
}

let close
if (process.argv[2] === 'weft') {
  const spec = JSON.parse(process.argv[3])
  const mesh = await createMesh({
    service: 'reviews',
    namespace: 'default',
    labels: { version: 'v1' },
    config: spec.config,
    identity: spec.identity,
    telemetry: { tracing: false },
  })
  const inbound = mesh.express()
  const handler = (req, res) =>
    inbound(req, res, (error) => {
      if (error) {
        res.statusCode = 500
        res.end()
        return
      }
      reply(req, res)
    })
  const listener = await mesh.listen(handler, { host: '127.0.0.1', port: 0 })
  close = () => mesh.close()
  process.send({ port: listener.port })
} else {
  const server = createServer(reply)
  server.keepAliveTimeout = 60_000
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  close = () => new Promise((resolve) => server.close(resolve).closeAllConnections())
  process.send({ port: server.address().port })
}
process.on('disconnect', async () => {
  await close()
  process.exit(0)
})
