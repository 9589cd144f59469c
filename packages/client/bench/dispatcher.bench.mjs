#!/usr/bin/env node
// Raw undici Pool vs mesh.dispatcher (a VirtualService, a DestinationRule with outlier detection,
// a retry policy), against the same upstream in another process, measured side by side and
// interleaved (A B A B …) so that the machine's drift cancels; the throughput ratio is the median
// of each round's ratio to the raw round beside it, as bursts of other load on a shared machine
// move single rounds by ±30 %.
// Targets (issue #4): ≥ 0.90 of raw throughput; added latency p50 ≤ 15 µs, p99 ≤ 60 µs.
// A third variant, an Agent composed with a do-nothing interceptor, shows what undici's compose
// (its handler translation layers) costs by itself.
// Run: pnpm build && node packages/client/bench/dispatcher.bench.mjs [-o json]
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { compileSnapshot, loadConfig } from '@weft/config'
import { Agent, Pool, request } from 'undici'
import { createMeshDispatcher } from '../dist/index.js'

const json = process.argv.includes('-o') && process.argv[process.argv.indexOf('-o') + 1] === 'json'
const ROUNDS = 8
const ROUND_MS = 1000
const CONCURRENCY = 16

const server = fork(fileURLToPath(new URL('./echo-server.mjs', import.meta.url)), [], { stdio: 'ignore' })
const port = await new Promise((resolve) => server.once('message', (m) => resolve(m.port)))

const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match:
    - headers: {end-user: {exact: jason}}
    route:
    - destination: {host: reviews, subset: v2}
  - route:
    - destination: {host: reviews, subset: v1}
    retries: {attempts: 2, retryOn: "5xx,connect-failure"}
    timeout: 5s
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s}
    # As many connections as the raw Pool may open. Without a cap, undici's pool opens a new
    # connection for a request that arrives in the event-loop turn before a finished connection is
    # reusable: up to twice the callers, and the comparison would be of connection counts.
    connectionPool: {tcp: {maxConnections: ${CONCURRENCY}}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`
const snapshot = compileSnapshot(loadConfig([{ file: 'bench.yaml', text: yaml }]).resources, {
  registry: [
    {
      service: 'reviews',
      namespace: 'default',
      address: '127.0.0.1',
      port,
      labels: { app: 'reviews', version: 'v1' },
    },
  ],
})
const raw = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY })
const mesh = createMeshDispatcher({
  snapshot: () => snapshot,
  source: { namespace: 'default', labels: { app: 'productpage' } },
})

// What undici's compose costs by itself: an Agent composed with an interceptor that does nothing.
const composed = new Agent({ connections: CONCURRENCY }).compose(
  (dispatch) => (opts, handler) => dispatch(opts, handler),
)

const variants = {
  'raw undici Pool': () => request(`http://127.0.0.1:${port}/reviews/0`, { dispatcher: raw }),
  'mesh.dispatcher': () => request('http://reviews:9080/reviews/0', { dispatcher: mesh }),
  'Agent.compose(noop)': () => request(`http://127.0.0.1:${port}/reviews/0`, { dispatcher: composed }),
}

async function round(call, concurrency) {
  const latencies = []
  const end = performance.now() + ROUND_MS
  let count = 0
  const worker = async () => {
    while (performance.now() < end) {
      const t = process.hrtime.bigint()
      const res = await call()
      await res.body.dump()
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`)
      latencies.push(Number(process.hrtime.bigint() - t) / 1000)
      count++
    }
  }
  const started = performance.now()
  const cpu = process.cpuUsage()
  await Promise.all(Array.from({ length: concurrency }, worker))
  const used = process.cpuUsage(cpu)
  return {
    rps: count / ((performance.now() - started) / 1000),
    latencies,
    cpuUs: (used.user + used.system) / count,
  }
}

/** The nearest-rank percentile: the smallest value with at least p % of the values at or below it. */
const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** The median; of an even count, the mean of the middle two, so that neither side is favoured. */
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Interleaved rounds (A B A B …) of every variant at one concurrency. */
async function compare(concurrency) {
  const results = Object.fromEntries(
    Object.keys(variants).map((k) => [k, { rps: [], latencies: [], cpuUs: [] }]),
  )
  for (const call of Object.values(variants)) await round(call, concurrency)
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, call] of Object.entries(variants)) {
      process.stderr.write(`  ${concurrency} caller(s), round ${r + 1}/${ROUNDS}: ${name}      \r`)
      const out = await round(call, concurrency)
      results[name].rps.push(out.rps)
      results[name].latencies.push(...out.latencies)
      results[name].cpuUs.push(out.cpuUs)
    }
  }
  return Object.entries(results).map(([name, r]) => ({
    name,
    concurrency,
    rps: Math.round(r.rps.reduce((a, b) => a + b, 0) / r.rps.length),
    roundRps: r.rps,
    p50us: Math.round(pct(r.latencies, 50)),
    p99us: Math.round(pct(r.latencies, 99)),
    // The client process's CPU per request (median of rounds): steadier than throughput on a busy machine.
    cpuUs: +median(r.cpuUs).toFixed(1),
  }))
}

// Throughput under load, and the latency one request gains when nothing else is queued.
const loaded = await compare(CONCURRENCY)
const single = await compare(1)
process.stderr.write(' '.repeat(60) + '\r')
await raw.close()
await mesh.close()
await composed.close()
server.kill()

const rows = [...loaded, ...single]
/**
 * The ratio of each round to the raw round just before it, and their median: a neighbour shares
 * the machine's state, and a burst of other load moves one pair, not the median.
 */
const pairedRatios = (variant) => loaded[variant].roundRps.map((rps, i) => rps / loaded[0].roundRps[i])
const meshRatios = pairedRatios(1)
const summary = {
  throughputRatio: +median(meshRatios).toFixed(3),
  throughputRatioRange: [+Math.min(...meshRatios).toFixed(2), +Math.max(...meshRatios).toFixed(2)],
  composeOnlyRatio: +median(pairedRatios(2)).toFixed(3),
  addedP50us: single[1].p50us - single[0].p50us,
  addedP99us: single[1].p99us - single[0].p99us,
}
if (json) {
  console.log(
    JSON.stringify({ concurrency: CONCURRENCY, rounds: ROUNDS, roundMs: ROUND_MS, rows, summary }, null, 2),
  )
} else {
  console.log(
    `mesh.dispatcher vs raw undici Pool: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms each per variant and concurrency`,
  )
  console.log('client               callers    req/s     p50 µs    p99 µs  CPU µs/req')
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(20)} ${String(r.concurrency).padStart(7)}  ${String(r.rps).padStart(7)}  ${String(r.p50us).padStart(8)}  ${String(r.p99us).padStart(8)}  ${String(r.cpuUs).padStart(10)}`,
    )
  }
  console.log(
    `throughput ratio at ${CONCURRENCY} callers, median of ${ROUNDS} rounds each beside its raw round:`,
  )
  console.log(
    `  ${summary.throughputRatio} (target ≥ 0.90: ${summary.throughputRatio >= 0.9 ? 'met' : 'MISSED'}); rounds ranged ${summary.throughputRatioRange.join('–')}`,
  )
  console.log(
    `  an Agent composed with a do-nothing interceptor: ${summary.composeOnlyRatio} (undici's compose by itself)`,
  )
  console.log(
    `added latency for one caller: p50 ${summary.addedP50us} µs (target ≤ 15: ${summary.addedP50us <= 15 ? 'met' : 'MISSED'}), p99 ${summary.addedP99us} µs (target ≤ 60: ${summary.addedP99us <= 60 ? 'met' : 'MISSED'})`,
  )
}
