// What every Bookinfo service does around its app: serve it through the mesh (plaintext or mutual
// TLS as the PeerAuthentication says, registered under the service's name), expose Istio's
// metrics on a port of their own — as a sidecar's merged-metrics port, outside the policies that
// guard the app — tell the parent process where, and leave cleanly when asked.
import { createServer } from 'node:http'

export async function serve(mesh, handler, { onClose } = {}) {
  const served = await mesh.listen(handler, { host: '127.0.0.1' })
  const metrics = createServer(mesh.metricsHandler)
  await new Promise((listening) => metrics.listen(0, '127.0.0.1', listening))
  const ready = {
    service: mesh.service,
    version: mesh.labels.version,
    port: served.port,
    metricsPort: metrics.address().port,
  }
  if (process.send) process.send({ ready })
  else
    console.log(
      `${mesh.service} ${ready.version} on 127.0.0.1:${ready.port}, /metrics on ${ready.metricsPort}`,
    )
  stopOnSignal(async () => {
    await mesh.close()
    await onClose?.()
    metrics.closeAllConnections()
    await new Promise((closed) => metrics.close(closed))
  })
}

export function stopOnSignal(stop) {
  let stopping = false
  const once = async () => {
    if (stopping) return
    stopping = true
    // Keep-alive connections from callers could hold the close open; the process ends regardless.
    setTimeout(() => process.exit(0), 3000).unref()
    await stop()
    process.exit(0)
  }
  process.on('SIGTERM', once)
  process.on('SIGINT', once)
  process.on('disconnect', once)
}
