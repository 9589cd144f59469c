#!/usr/bin/env node
// Traffic reporting at scale (issue #11): INSTANCES simulated SDK instances in PROCESSES child
// processes send their per-interval reports (what an SDK's traffic reporter sends, through the
// real HTTP API, at the real interval) to a control plane running in this process, while one
// dashboard keeps the graph stream open. Prints what the control plane pays: its memory (RSS,
// heap) and its CPU over the run (process.cpuUsage: this process is the control plane alone),
// per report and as a share of one core, and the size of a report on the wire. The machine's
// load average is printed beside it: CPU shares move with what else runs.
// Run: pnpm build && node --expose-gc packages/control-plane/bench/reporting.bench.mjs
//      [--instances 100] [--processes 4] [--interval 5000] [--seconds 30] [--stream 1|0] [-o json]
// (--expose-gc: the heap is measured after a collection, so that it shows what is kept.)
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startControlPlane } from '@weft/control-plane'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? fallback : process.argv[i + 1]
}
const json = arg('-o') === 'json'
const INSTANCES = Number(arg('--instances', 100))
const PROCESSES = Math.max(1, Math.min(INSTANCES, Number(arg('--processes', 4))))
const INTERVAL_MS = Number(arg('--interval', 5000))
// Bounded: a run is at most two minutes whatever is asked.
const DURATION_MS = Math.min(120_000, Number(arg('--seconds', 30)) * 1000)
const STREAM = arg('--stream', '1') !== '0'
// The simulated mesh: 10 services × 2 versions × 5 instances = 100 instances.
const VERSIONS = 2
const PER_VERSION = Math.max(1, Math.ceil(INSTANCES / 20))
const SERVICES = Math.ceil(INSTANCES / (VERSIONS * PER_VERSION))
const worker = fileURLToPath(new URL('./reporting-worker.mjs', import.meta.url))

const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10
const dataDir = mkdtempSync(join(tmpdir(), 'weft-reporting-bench-'))
const cp = await startControlPlane({ port: 0, dataDir, log: () => {} })
const token = cp.credentials.issue('default', 'bench')
const viewer = cp.credentials.issueViewer()

globalThis.gc?.()
const before = { rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed }
let peakRss = before.rss
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}, 500)
const load = loadavg()[0]

const per = Math.ceil(INSTANCES / PROCESSES)
// Forked before the clock starts: starting processes is the benchmark's cost, not the control plane's.
const children = Array.from({ length: PROCESSES }, (_, p) => {
  const first = p * per
  const count = Math.max(0, Math.min(per, INSTANCES - first))
  return fork(worker, [], {
    execArgv: [],
    env: {
      ...process.env,
      URL: cp.url,
      TOKEN: token,
      VIEWER: viewer,
      FIRST: String(first),
      COUNT: String(count),
      SERVICES: String(SERVICES),
      VERSIONS: String(VERSIONS),
      PER_VERSION: String(PER_VERSION),
      INTERVAL_MS: String(INTERVAL_MS),
      DURATION_MS: String(DURATION_MS),
      STREAM: STREAM && p === 0 ? '1' : '0',
    },
  })
})
const cpu0 = process.cpuUsage()
const t0 = performance.now()
const results = await Promise.all(
  children.map((child) => {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill()
        reject(new Error('a worker did not finish in time'))
      }, DURATION_MS + 30_000)
      child.once('message', (stats) => {
        clearTimeout(timer)
        resolve(stats)
      })
      child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`a worker exited with ${code}`))
      })
    })
  }),
)

const wallMs = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
clearInterval(sampler)
peakRss = Math.max(peakRss, process.memoryUsage.rss())
globalThis.gc?.()
const after = process.memoryUsage()
peakRss = Math.max(peakRss, after.rss)
const graphBody = await (
  await fetch(`${cp.url}/api/v1/graph`, { headers: { authorization: `Bearer ${viewer}` } })
).text()
const { nodes, edges } = JSON.parse(graphBody)
await cp.close()
rmSync(dataDir, { recursive: true, force: true })

const sum = (key) => results.reduce((n, r) => n + r[key], 0)
const reports = sum('sent')
const cpuMs = (cpu.user + cpu.system) / 1000
const result = {
  instances: INSTANCES,
  processes: PROCESSES,
  intervalMs: INTERVAL_MS,
  seconds: Math.round(wallMs / 100) / 10,
  reports,
  reportsOk: sum('ok'),
  reportsFailed: sum('failed'),
  bytesPerReport: reports ? Math.round(sum('bytes') / reports) : 0,
  maxBytesPerReport: Math.max(...results.map((r) => r.maxBytes)),
  streamEvents: sum('events'),
  graph: { nodes: nodes.length, edges: edges.length, bytes: Buffer.byteLength(graphBody) },
  controlPlane: {
    rssMbBefore: mb(before.rss),
    rssMbAfter: mb(after.rss),
    rssMbPeak: mb(peakRss),
    heapUsedMbBefore: mb(before.heap),
    heapUsedMbAfter: mb(after.heapUsed),
    cpuPercentOfOneCore: Math.round((cpuMs / wallMs) * 1000) / 10,
    cpuMsTotal: Math.round(cpuMs),
    cpuUsPerReport: reports ? Math.round((cpuMs * 1000) / reports) : 0,
  },
  loadAverage1m: Math.round(load * 100) / 100,
}

if (json) console.log(JSON.stringify(result, null, 2))
else {
  const c = result.controlPlane
  const rows = [
    [
      'reporting instances',
      `${INSTANCES} in ${PROCESSES} processes, one report every ${INTERVAL_MS} ms each`,
    ],
    ['run', `${result.seconds} s, machine load average ${result.loadAverage1m} at the start`],
    ['reports', `${reports} sent, ${result.reportsOk} taken (204), ${result.reportsFailed} failed`],
    ['bytes per report', `${result.bytesPerReport} average, ${result.maxBytesPerReport} largest`],
    [
      'graph',
      `${result.graph.nodes} nodes, ${result.graph.edges} edges, ${result.graph.bytes} bytes; ${STREAM ? `${result.streamEvents} stream events to one dashboard` : 'no dashboard'}`,
    ],
    ['control plane RSS', `${c.rssMbBefore} MB before, ${c.rssMbAfter} MB after, ${c.rssMbPeak} MB peak`],
    ['control plane heap', `${c.heapUsedMbBefore} MB used before, ${c.heapUsedMbAfter} MB after`],
    [
      'control plane CPU',
      `${c.cpuPercentOfOneCore} % of one core (${c.cpuMsTotal} ms), ${c.cpuUsPerReport} µs per report`,
    ],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`)
}
