// A real upstream for multi-process tests: listens on 127.0.0.1 (port 0), reports its port to
// the parent over IPC, and answers every request with JSON naming itself and what it received.
// Its behaviour is set by environment: UPSTREAM_NAME, UPSTREAM_STATUS (default 200),
// UPSTREAM_DELAY_MS (default 0). `POST /__status` with a number changes the status at run time;
// `GET /__last` tells the last request it served; `GET /__stats` the most requests it ever had
// in flight at once.
import { createServer } from 'node:http'

const name = process.env.UPSTREAM_NAME ?? 'upstream'
let status = Number(process.env.UPSTREAM_STATUS ?? 200)
let last = null
let inFlight = 0
let peakInFlight = 0
const delayMs = Number(process.env.UPSTREAM_DELAY_MS ?? 0)

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    if (req.url === '/__last') {
      res.end(JSON.stringify(last))
      return
    }
    if (req.method === 'POST' && req.url === '/__status') {
      status = Number(Buffer.concat(chunks).toString())
      res.end('ok')
      return
    }
    if (req.url === '/__stats') {
      res.end(JSON.stringify({ peakInFlight }))
      return
    }
    last = { method: req.method, url: req.url, headers: req.headers }
    inFlight++
    peakInFlight = Math.max(peakInFlight, inFlight)
    const reply = () => {
      inFlight--
      res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': name })
      res.end(
        JSON.stringify({
          name,
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      )
    }
    if (delayMs > 0) setTimeout(reply, delayMs)
    else reply()
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }))
process.on('disconnect', () => process.exit(0))
