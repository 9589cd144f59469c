#!/usr/bin/env node
// Config propagation (issue #8): a control plane and INSTANCES SDK instances spread over
// PROCESSES processes; each round applies one change and times how long until every instance
// has applied it (the control plane's answer to the last instance's 'snapshot' event, on one
// machine's clock). File store, then etcd (a one-member etcd on loopback) when `etcd` is on PATH.
// Target: p99 ≤ 50 ms to 100 instances on the file store.
// Run: pnpm build && node packages/cli/bench/propagation.bench.mjs [--instances 100] [-o json]
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EtcdStore, startControlPlane } from '@weft/control-plane'
import { request } from 'undici'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name)
  return i < 0 ? fallback : process.argv[i + 1]
}
const json = arg('-o') === 'json'
const INSTANCES = Number(arg('--instances', 100))
const PROCESSES = Math.min(INSTANCES, Number(arg('--processes', 4)))
const ROUNDS = Number(arg('--rounds', 30))
const worker = fileURLToPath(new URL('./propagation-worker.mjs', import.meta.url))

const vs = (n) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bench, namespace: default}
spec:
  hosts: [bench]
  http:
  - headers: {request: {set: {x-round: "${n}"}}}
    route:
    - destination: {host: bench}
`

async function freePort() {
  const server = createServer()
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address()
  await new Promise((r) => server.close(r))
  return port
}

async function startEtcd(dir) {
  if (spawnSync('etcd', ['--version']).status !== 0) return undefined
  const client = await freePort()
  const peer = await freePort()
  const child = spawn(
    'etcd',
    [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${peer}`,
      '--log-level',
      'error',
    ],
    { stdio: 'ignore' },
  )
  const url = `http://127.0.0.1:${client}`
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${url}/health`)
      if (res.ok) return { child, url }
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill('SIGKILL')
  throw new Error('etcd did not start')
}

const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function measure(storeName, store, dir) {
  const cp = await startControlPlane({
    port: 0,
    dataDir: join(dir, storeName),
    ...(store ? { store } : {}),
    leaseTtlMs: 30_000,
  })
  const admin = cp.credentials
  const adminToken = (await import('node:fs')).readFileSync(cp.adminTokenFile, 'utf8').trim()
  const apply = async (n) => {
    const res = await request(`${cp.url}/api/v1/apply`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
      body: vs(n),
    })
    const body = await res.body.json()
    if (res.statusCode !== 200) throw new Error(JSON.stringify(body))
    return body.version
  }
  await apply(0)
  const token = admin.issue('default', 'bench')
  const cacheDir = join(dir, `cache-${storeName}`)
  /** Report times by version; an instance may report before the apply's answer arrives. */
  const reports = new Map()
  const firsts = []
  const children = []
  let ready = 0
  const per = Math.ceil(INSTANCES / PROCESSES)
  for (let p = 0; p < PROCESSES; p++) {
    const count = Math.min(per, INSTANCES - p * per)
    const child = spawn(process.execPath, [worker], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, WEFT_BENCH_WORKER: JSON.stringify({ url: cp.url, token, count, cacheDir }) },
    })
    child.on('message', (m) => {
      if (m.ready) ready += m.ready
      else if (m.applied !== undefined) {
        const list = reports.get(m.applied) ?? []
        list.push(m.at)
        reports.set(m.applied, list)
      }
    })
    children.push(child)
  }
  while (ready < INSTANCES) await new Promise((r) => setTimeout(r, 20))
  const times = []
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`  ${storeName}: round ${round}/${ROUNDS}   \r`)
    const started = performance.timeOrigin + performance.now()
    const v = await apply(round)
    const deadline = Date.now() + 10_000
    while ((reports.get(v)?.length ?? 0) < INSTANCES && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2))
    }
    const ats = reports.get(v) ?? []
    reports.delete(v)
    times.push(ats.length === INSTANCES ? Math.max(...ats) - started : Number.POSITIVE_INFINITY)
    firsts.push(Math.min(...ats) - started)
    await new Promise((r) => setTimeout(r, 50))
  }
  for (const child of children) child.send('stop')
  await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))))
  await cp.close()
  return {
    store: storeName,
    instances: INSTANCES,
    processes: PROCESSES,
    rounds: ROUNDS,
    firstP50ms: +pct(firsts, 50).toFixed(1),
    p50ms: +pct(times, 50).toFixed(1),
    p99ms: +pct(times, 99).toFixed(1),
    maxMs: +Math.max(...times).toFixed(1),
  }
}

const dir = mkdtempSync(join(tmpdir(), 'weft-propagation-'))
const results = []
try {
  results.push(await measure('file', undefined, dir))
  const etcd = await startEtcd(dir)
  if (etcd) {
    try {
      results.push(await measure('etcd', new EtcdStore({ endpoints: [etcd.url] }), dir))
    } finally {
      etcd.child.kill('SIGKILL')
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
process.stderr.write(`${' '.repeat(40)}\r`)
if (json) console.log(JSON.stringify(results, null, 2))
else {
  console.log(
    `config propagation: time from apply until all ${INSTANCES} instances (${PROCESSES} processes) applied it`,
  )
  console.log('store   rounds   first p50 ms   p50 ms   p99 ms   max ms')
  for (const r of results) {
    console.log(
      `${r.store.padEnd(6)}  ${String(r.rounds).padStart(6)}  ${String(r.firstP50ms).padStart(12)}  ${String(r.p50ms).padStart(7)}  ${String(r.p99ms).padStart(7)}  ${String(r.maxMs).padStart(7)}`,
    )
  }
  const file = results.find((r) => r.store === 'file')
  console.log(`target p99 ≤ 50 ms on the file store: ${file.p99ms <= 50 ? 'met' : 'MISSED'}`)
}
