// A meshed service for the service-graph tests, in its own process: createMesh with a control
// plane (reporting its traffic every WEFT_REPORT_INTERVAL_MS), an Express app behind
// mesh.express(), served and registered by mesh.listen(). It answers every request with
// STATUS (default 200) and its name; `GET /call?to=URL&n=N` makes N calls to URL through the
// mesh, one after another, and answers with how many got each status from each workload.
// Environment: SERVICE, VERSION, STATUS, WEFT_CONTROL_PLANE, WEFT_TOKEN, WEFT_CACHE_DIR,
// WEFT_REPORT_INTERVAL_MS. Reports its port to the parent over IPC.
import { createMesh } from '@weft/mesh'
import express from 'express'

const service = process.env.SERVICE ?? 'productpage'
const version = process.env.VERSION ?? 'v1'
const status = Number(process.env.STATUS ?? 200)
const mesh = await createMesh({ service, labels: { version } })
const app = express()
app.use(mesh.express())
app.get('/call', async (req, res) => {
  const n = Math.min(Number(req.query.n ?? 1), 10_000)
  const tally = {}
  for (let i = 0; i < n; i++) {
    const answer = await mesh.fetch(String(req.query.to))
    const text = await answer.text()
    let name = '-'
    try {
      name = JSON.parse(text).name ?? '-'
    } catch {
      // The mesh's own answers (503 no healthy upstream) are plain text.
    }
    const key = `${answer.status} ${name}`
    tally[key] = (tally[key] ?? 0) + 1
  }
  res.json(tally)
})
app.use((_req, res) => {
  res.status(status).json({ name: `${service}-${version}` })
})
const { port } = await mesh.listen(app, { host: '127.0.0.1' })
if (process.connected) process.send?.({ port, mtls: mesh.identity !== undefined })
process.on('disconnect', async () => {
  await mesh.close()
  process.exit(0)
})
