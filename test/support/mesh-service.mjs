// A meshed service in its own process, as a user writes one: createMesh with a control plane,
// an Express app behind mesh.express(), served by mesh.listen() (plaintext or mutual TLS as the
// PeerAuthentication says). It answers with its name and who the mesh says called it, and
// reports its port to the parent over IPC.
// Environment: SERVICE, VERSION, WEFT_CONTROL_PLANE, WEFT_TOKEN, WEFT_CACHE_DIR.
import { createMesh } from '@weft/mesh'
import express from 'express'

const service = process.env.SERVICE ?? 'ratings'
const version = process.env.VERSION ?? 'v1'
const mesh = await createMesh({ service, labels: { version } })
const app = express()
app.use(mesh.express())
app.get('/metrics', mesh.metricsHandler)
app.use((req, res) => {
  res.json({ name: `${service}-${version}`, path: req.url, weft: req.weft })
})
const { port } = await mesh.listen(app, { host: '127.0.0.1' })
process.send?.({ port, mtls: mesh.identity !== undefined })
process.on('disconnect', async () => {
  await mesh.close()
  process.exit(0)
})
