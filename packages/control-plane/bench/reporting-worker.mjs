// Simulated SDK instances for reporting.bench.mjs: each sends what an SDK's traffic reporter
// sends (POST /api/v1/reports, one report per interval, first at a random phase) through the
// control plane's real HTTP API, with realistic contents: its source edges to the two services
// it calls (two versions each), its destination edges from its two callers, codes, a flag now
// and then, a latency histogram, and the clusters it balances over. With STREAM=1 it also keeps
// the dashboard's graph stream open and counts its events. Tells the parent what it sent.
// Environment: URL, TOKEN, VIEWER, FIRST, COUNT, SERVICES, VERSIONS, PER_VERSION, INTERVAL_MS,
// DURATION_MS, STREAM.

const env = (name) => process.env[name]
const URL_ = env('URL')
const FIRST = Number(env('FIRST'))
const COUNT = Number(env('COUNT'))
const SERVICES = Number(env('SERVICES'))
const VERSIONS = Number(env('VERSIONS'))
const PER_VERSION = Number(env('PER_VERSION'))
const INTERVAL_MS = Number(env('INTERVAL_MS'))
const DURATION_MS = Number(env('DURATION_MS'))
const HOST = (s) => `svc${s}.default.svc.cluster.local`
const BUCKETS = 20

const peer = (s, v) => ({ namespace: 'default', workload: `svc${s}-v${v}`, app: `svc${s}`, version: `v${v}` })

function histogram(requests) {
  // Most calls in 1–25 ms, a tail to a second: the shape of a loopback service's latencies.
  const shares = [0, 0.02, 0.25, 0.35, 0.25, 0.08, 0.03, 0.015, 0.004, 0.001]
  const out = new Array(BUCKETS).fill(0)
  let left = requests
  shares.forEach((share, i) => {
    const n = i === shares.length - 1 ? left : Math.min(left, Math.round(requests * share))
    out[i] = n
    left -= n
  })
  return out
}

function edge(reporter, source, destination, service, requests) {
  const errors = Math.random() < 0.2 ? Math.ceil(requests * 0.01) : 0
  return {
    reporter,
    source,
    destination: { service, ...destination },
    protocol: 'http',
    mtls: reporter === 'destination',
    requests,
    errors,
    codes: errors ? { 200: requests - errors, 503: errors } : { 200: requests },
    flags: errors && Math.random() < 0.5 ? { UF: errors } : {},
    durationBuckets: histogram(requests),
  }
}

/** Instance `i`: service `s`, version `v`; it calls services s+1 and s+2 and is called by s-1 and s-2. */
function reportOf(i) {
  const s = Math.floor(i / (VERSIONS * PER_VERSION)) % SERVICES
  const v = 1 + (Math.floor(i / PER_VERSION) % VERSIONS)
  const self = peer(s, v)
  const edges = []
  const clusters = []
  for (const step of [1, 2]) {
    const callee = (s + step) % SERVICES
    const caller = (s - step + SERVICES) % SERVICES
    for (let w = 1; w <= VERSIONS; w++) {
      edges.push(edge('source', self, peer(callee, w), HOST(callee), 50 + Math.floor(Math.random() * 200)))
      edges.push(edge('destination', peer(caller, w), self, HOST(s), 50 + Math.floor(Math.random() * 200)))
      clusters.push({
        cluster: `outbound|9080|v${w}|${HOST(callee)}`,
        service: HOST(callee),
        subset: `v${w}`,
        endpoints: Array.from({ length: PER_VERSION }, (_, k) => {
          const ejected = Math.random() < 0.01
          return {
            address: `10.${callee}.${w}.${k}:9080`,
            healthy: !ejected,
            ejected,
            ejectedUntil: ejected ? Date.now() + 30_000 : null,
          }
        }),
        breaker: null,
      })
    }
  }
  return {
    instance: `svc${s}-v${v}-${i}`,
    workload: { ...self, service: `svc${s}` },
    intervalMs: INTERVAL_MS,
    edges,
    clusters,
  }
}

const stats = { sent: 0, ok: 0, failed: 0, bytes: 0, maxBytes: 0, events: 0 }
const headers = { authorization: `Bearer ${env('TOKEN')}`, 'content-type': 'application/json' }

async function send(i) {
  const body = JSON.stringify(reportOf(i))
  stats.sent++
  stats.bytes += Buffer.byteLength(body)
  stats.maxBytes = Math.max(stats.maxBytes, Buffer.byteLength(body))
  try {
    const res = await fetch(`${URL_}/api/v1/reports`, { method: 'POST', headers, body })
    await res.arrayBuffer()
    if (res.status === 204) stats.ok++
    else stats.failed++
  } catch {
    stats.failed++
  }
}

async function stream(signal) {
  try {
    const res = await fetch(`${URL_}/api/v1/graph/stream`, {
      headers: { authorization: `Bearer ${env('VIEWER')}` },
      signal,
    })
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk, { stream: true })
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        if (buffer.startsWith('event: graph')) stats.events++
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf('\n\n')
      }
    }
  } catch {
    // Aborted at the end of the run.
  }
}

const started = Date.now()
const abort = new AbortController()
const streaming = env('STREAM') === '1' ? stream(abort.signal) : undefined
const timers = []
const pending = new Set()
for (let i = FIRST; i < FIRST + COUNT; i++) {
  const tick = () => {
    if (Date.now() - started >= DURATION_MS) return
    const p = send(i).finally(() => pending.delete(p))
    pending.add(p)
  }
  timers.push(
    setTimeout(() => {
      tick()
      timers.push(setInterval(tick, INTERVAL_MS))
    }, Math.random() * INTERVAL_MS),
  )
}
setTimeout(async () => {
  for (const t of timers) clearInterval(t)
  await Promise.all(pending)
  abort.abort()
  await streaming
  process.send(stats)
  process.disconnect()
}, DURATION_MS)
