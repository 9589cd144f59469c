// A real upstream for multi-process tests: listens on 127.0.0.1 (port 0), reports its port to
// the parent over IPC, and answers every request with JSON naming itself and what it received.
// Its behaviour is set by environment: UPSTREAM_NAME, UPSTREAM_STATUS (default 200),
// UPSTREAM_DELAY_MS (default 0), UPSTREAM_RETRY_AFTER (a `Retry-After` on its 5xx answers). `POST /__status` with a number changes the status at run time;
// `GET /__last` tells the last request it served; `GET /__stats` the most requests it ever had
// in flight at once; `GET /__bytes/N` streams N bytes and an `x-bytes` trailer.
import { createServer } from 'node:http'

const name = process.env.UPSTREAM_NAME ?? 'upstream'
let status = Number(process.env.UPSTREAM_STATUS ?? 200)
let last = null
let inFlight = 0
let peakInFlight = 0
const delayMs = Number(process.env.UPSTREAM_DELAY_MS ?? 0)
const retryAfter = process.env.UPSTREAM_RETRY_AFTER

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
    const bytes = /^\/__bytes\/(\d+)$/.exec(req.url ?? '')
    if (bytes) {
      sendBytes(res, Number(bytes[1]))
      return
    }
    last = { method: req.method, url: req.url, headers: req.headers }
    inFlight++
    peakInFlight = Math.max(peakInFlight, inFlight)
    const reply = () => {
      inFlight--
      const headers = { 'content-type': 'application/json', 'x-upstream': name }
      if (retryAfter && status >= 500) headers['retry-after'] = retryAfter
      res.writeHead(status, headers)
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
/** N bytes of `x` in 64 KiB chunks, as fast as the reader takes them, then an `x-bytes` trailer. */
function sendBytes(res, total) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', trailer: 'x-bytes', 'x-upstream': name })
  const chunk = Buffer.alloc(64 * 1024, 'x')
  let left = total
  const write = () => {
    while (left > 0) {
      const part = left >= chunk.length ? chunk : chunk.subarray(0, left)
      left -= part.length
      if (!res.write(part)) return void res.once('drain', write)
    }
    res.addTrailers({ 'x-bytes': String(total) })
    res.end()
  }
  write()
}

server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }))
process.on('disconnect', () => process.exit(0))
