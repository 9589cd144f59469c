#!/usr/bin/env node
// Config propagation (issue #8): a control plane and INSTANCES SDK instances spread over
// PROCESSES processes; each round applies one change and times how long until every instance
// has applied it (the control plane's answer to the last instance's 'snapshot' event, on one
// machine's clock). File store, then etcd (a one-member etcd on loopback) when `etcd` is on PATH.
// Target: p99 ≤ 50 ms to 100 instances on the file store.
// Beside the times, CPU: the workers' CPU over the rounds per instance per change (receive,
// validate, compile, cache, ACK, and the benchmark's own report), the bench process's (the
// control plane: apply, store, fan-out, ACKs) per change, and the machine's other load meanwhile
// (/proc/stat), since the times move with what else runs on the machine.
// With --services N the config also holds N services' VirtualService and DestinationRule, which
// the rounds leave alone: what a change costs an instance whose config is not one resource.
// Run: pnpm build && node packages/cli/bench/propagation.bench.mjs [--instances 100] [--rounds 500]
//      [--services 0] [--processes 4] [--gap MS] [--store file|etcd] [--profile DIR (CPU profiles of the rounds)]
//      [--each (every round's times, on stderr)] [-o json]
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
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
// 500, so that the p99 is the sixth slowest round. With 100 it was the second slowest, and in
// every run the slowest rounds are those just after start (the first change, then V8 optimising
// the apply path in every worker at once), which an instance passes through once in its life:
// start-up set the p99 of 100 rounds. No round is left out; the first rounds are also reported on
// their own.
const ROUNDS = Number(arg('--rounds', 500))
// The rounds reported apart as start-up: in every run on this machine the slow ones came within them.
const STARTUP_ROUNDS = Math.min(50, Math.floor(ROUNDS / 2))
const STORE = arg('--store', undefined)
const SERVICES = Number(arg('--services', 0))
// The pause between rounds. The SDK sends its ACK once changes have been quiet for 0.1–0.2 s and
// writes its disk cache after 0.5–1 s (during a burst at least every 2.5 s and 6 s), so rounds
// this close share them; a gap over 1 s makes every change pay its own.
const GAP_MS = Number(arg('--gap', 50))
const IDLE_MS = 3_000
const PROFILE = arg('--profile', undefined)
// The slow rounds make p99; which ones they are (the first, one every second…) says why.
const EACH = process.argv.includes('--each')
if (PROFILE) mkdirSync(PROFILE, { recursive: true })
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

/** The services beside `bench`: each a VirtualService (a match, a 90/10 split, retries) and a DestinationRule. */
const servicesYaml = (count) =>
  Array.from(
    { length: count },
    (_, i) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-${i}, namespace: default}
spec:
  hosts: [svc-${i}]
  http:
  - match:
    - uri: {prefix: /api/}
    route:
    - destination: {host: svc-${i}, subset: v1}
      weight: 90
    - destination: {host: svc-${i}, subset: v2}
      weight: 10
    retries: {attempts: 2, retryOn: "5xx,connect-failure"}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-${i}, namespace: default}
spec:
  host: svc-${i}
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`,
  ).join('---\n')

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

/** Busy and total CPU time of the whole machine, in ms, from /proc/stat (Linux only). */
function machineCpuMs() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const total = fields.reduce((a, b) => a + b, 0)
    const idle = fields[3] + (fields[4] ?? 0)
    return { busy: (total - idle) * 10, total: total * 10 }
  } catch {
    return undefined
  }
}

/** CPU ms a child process (etcd) has used, from /proc/PID/stat. */
function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

/**
 * The nearest-rank percentile: the smallest value with at least p % of the values at or below
 * it. With fewer than 100 rounds the p99 is the slowest round; with 100 it is the second slowest.
 */
const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** Times and the workers' CPU of a run of rounds (a part of them: start-up, or the rest). */
const roundsPart = (times, workersUs) => ({
  rounds: times.length,
  p50ms: +pct(times, 50).toFixed(1),
  p99ms: +pct(times, 99).toFixed(1),
  maxMs: +Math.max(...times).toFixed(1),
  cpuPerApplyUs: Math.round(workersUs / (times.length * INSTANCES)),
})

async function measure(storeName, store, dir, helperPid) {
  const cp = await startControlPlane({
    port: 0,
    dataDir: join(dir, storeName),
    ...(store ? { store } : {}),
    leaseTtlMs: 30_000,
  })
  const admin = cp.credentials
  const adminToken = (await import('node:fs')).readFileSync(cp.adminTokenFile, 'utf8').trim()
  const apply = async (n, yaml = vs(n)) => {
    const res = await request(`${cp.url}/api/v1/apply`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
      body: yaml,
    })
    const answer = await res.body.json()
    if (res.statusCode !== 200) throw new Error(JSON.stringify(answer))
    return answer.version
  }
  if (SERVICES > 0) await apply(0, servicesYaml(SERVICES))
  await apply(0)
  const token = admin.issue('default', 'bench')
  const cacheDir = join(dir, `cache-${storeName}`)
  /** Report times by round; an instance may report before the apply's answer arrives. */
  const reports = new Map()
  /** The round waiting for all its reports: woken by the last one, not by polling. */
  let waiting
  const firsts = []
  const children = []
  let ready = 0
  /** Callbacks for the workers' answers to 'cpu' and 'profile-*', in the order asked. */
  const answers = []
  const per = Math.ceil(INSTANCES / PROCESSES)
  for (let p = 0; p < PROCESSES; p++) {
    const count = Math.min(per, INSTANCES - p * per)
    const child = spawn(process.execPath, [worker], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        WEFT_BENCH_WORKER: JSON.stringify({ url: cp.url, token, count, cacheDir, profile: PROFILE }),
      },
    })
    child.on('message', (m) => {
      if (m.ready) ready += m.ready
      else if (m.cpuUs !== undefined || m.profiling !== undefined) answers.shift()?.(m.cpuUs ?? 0)
      else if (m.applied !== undefined) {
        for (const [round, at] of m.applied) {
          const list = reports.get(round) ?? []
          list.push(at)
          reports.set(round, list)
          if (waiting?.round === round && list.length === INSTANCES) waiting.resolve()
        }
      }
    })
    children.push(child)
  }
  while (ready < INSTANCES) await new Promise((r) => setTimeout(r, 20))
  // Asked of one worker at a time, so that each answer meets its question.
  const ask = async (question) => {
    let sum = 0
    for (const child of children) {
      sum += await new Promise((resolve) => {
        answers.push(resolve)
        child.send(question)
      })
    }
    return sum
  }
  const workersCpuUs = () => ask('cpu')
  // What the instances cost doing nothing (timers, keepalives, the runtime), measured before
  // the rounds, so that the CPU per change can be told apart from it when the gap is long.
  const idleFrom = await workersCpuUs()
  const idleStart = performance.now()
  await new Promise((r) => setTimeout(r, IDLE_MS))
  const idleUsPerMs = ((await workersCpuUs()) - idleFrom) / (performance.now() - idleStart)
  const session = PROFILE ? new Session() : undefined
  if (session) {
    await ask('profile-start')
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
  }
  const machineBefore = machineCpuMs()
  const helperBefore = helperPid ? processCpuMs(helperPid) : 0
  const workersBefore = await workersCpuUs()
  const ownBefore = process.cpuUsage()
  const wallBefore = performance.now()
  const times = []
  let workersAtStartupEnd
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`  ${storeName}: round ${round}/${ROUNDS}   \r`)
    const started = performance.timeOrigin + performance.now()
    let timer
    const all = new Promise((resolve) => {
      waiting = { round, resolve }
      timer = setTimeout(resolve, 10_000)
    })
    await apply(round)
    if ((reports.get(round)?.length ?? 0) < INSTANCES) await all
    clearTimeout(timer)
    waiting = undefined
    const ats = reports.get(round) ?? []
    reports.delete(round)
    times.push(ats.length === INSTANCES ? Math.max(...ats) - started : Number.POSITIVE_INFINITY)
    firsts.push(Math.min(...ats) - started)
    if (EACH) {
      const at = started - performance.timeOrigin - wallBefore
      const line = `  ${storeName} round ${round}: all ${times.at(-1).toFixed(1)} ms, first ${firsts.at(-1).toFixed(1)} ms, started at +${at.toFixed(0)} ms`
      // Over the progress line, which ends in a carriage return.
      process.stderr.write(`\r${line.padEnd(60)}\n`)
    }
    if (round === STARTUP_ROUNDS) workersAtStartupEnd = await workersCpuUs()
    await new Promise((r) => setTimeout(r, GAP_MS))
  }
  const own = process.cpuUsage(ownBefore)
  const workersUs = (await workersCpuUs()) - workersBefore
  const wallMs = performance.now() - wallBefore
  const helperMs = helperPid ? processCpuMs(helperPid) - helperBefore : 0
  const machineAfter = machineCpuMs()
  if (session) {
    await ask('profile-stop')
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(join(PROFILE, `control-plane-${storeName}.cpuprofile`), JSON.stringify(profile))
    session.disconnect()
  }
  for (const child of children) child.send('stop')
  await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))))
  await cp.close()
  const oursMs = (own.user + own.system + workersUs) / 1000 + helperMs
  return {
    store: storeName,
    instances: INSTANCES,
    processes: PROCESSES,
    resources: 1 + 2 * SERVICES,
    rounds: ROUNDS,
    gapMs: GAP_MS,
    firstP50ms: +pct(firsts, 50).toFixed(1),
    p50ms: +pct(times, 50).toFixed(1),
    p99ms: +pct(times, 99).toFixed(1),
    maxMs: +Math.max(...times).toFixed(1),
    // Which rounds are slowest says what sets the p99 (the first after start, V8 optimising the
    // apply path in every worker at once, …).
    slowestRounds: times
      .map((ms, i) => ({ round: i + 1, ms: +ms.toFixed(1) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5),
    cpuPerApplyUs: Math.round(workersUs / (ROUNDS * INSTANCES)),
    // Less what the same time costs idle.
    netCpuPerApplyUs: Math.round((workersUs - idleUsPerMs * wallMs) / (ROUNDS * INSTANCES)),
    idleCpuUsPerInstancePerS: Math.round((idleUsPerMs * 1000) / INSTANCES),
    controlPlaneCpuPerChangeMs: +((own.user + own.system) / 1000 / ROUNDS).toFixed(2),
    ...(helperPid ? { etcdCpuPerChangeMs: +(helperMs / ROUNDS).toFixed(2) } : {}),
    ...(STARTUP_ROUNDS > 0
      ? {
          startup: roundsPart(times.slice(0, STARTUP_ROUNDS), workersAtStartupEnd - workersBefore),
          later: roundsPart(times.slice(STARTUP_ROUNDS), workersBefore + workersUs - workersAtStartupEnd),
        }
      : {}),
    // Cores busy with other work than this benchmark meanwhile (0–2 on this machine).
    otherLoadCores: machineAfter
      ? +Math.max(0, (machineAfter.busy - machineBefore.busy - oursMs) / wallMs).toFixed(2)
      : undefined,
  }
}

const dir = mkdtempSync(join(tmpdir(), 'weft-propagation-'))
const results = []
try {
  if (STORE !== 'etcd') results.push(await measure('file', undefined, dir))
  const etcd = STORE === 'file' ? undefined : await startEtcd(dir)
  if (etcd) {
    try {
      results.push(await measure('etcd', new EtcdStore({ endpoints: [etcd.url] }), dir, etcd.child.pid))
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
    `config propagation: time from apply until all ${INSTANCES} instances (${PROCESSES} processes) applied it; ${1 + 2 * SERVICES} resources in the config, one changed a round`,
  )
  console.log(
    'store   rounds   first p50 ms   p50 ms   p99 ms   max ms   CPU µs/instance/change (net of idle)   control plane CPU ms/change   other load (cores)',
  )
  for (const r of results) {
    const cpu = `${r.cpuPerApplyUs} (${r.netCpuPerApplyUs})`
    const cp = `${r.controlPlaneCpuPerChangeMs}${r.etcdCpuPerChangeMs === undefined ? '' : ` +${r.etcdCpuPerChangeMs} etcd`}`
    console.log(
      `${r.store.padEnd(6)}  ${String(r.rounds).padStart(6)}  ${String(r.firstP50ms).padStart(12)}  ${String(r.p50ms).padStart(7)}  ${String(r.p99ms).padStart(7)}  ${String(r.maxMs).padStart(7)}  ${cpu.padStart(37)}  ${cp.padStart(28)}  ${String(r.otherLoadCores ?? '?').padStart(18)}`,
    )
  }
  console.log(
    `idle: ${results.map((r) => `${r.store} ${r.idleCpuUsPerInstancePerS} µs of CPU per instance per second`).join(', ')}; pause between rounds ${GAP_MS} ms`,
  )
  for (const r of results) {
    const slowest = r.slowestRounds.map((s) => `${s.ms} ms (round ${s.round})`).join(', ')
    console.log(`slowest rounds, ${r.store}: ${slowest}`)
    if (!r.startup) continue
    const part = (p) =>
      `p50 ${p.p50ms} ms, p99 ${p.p99ms} ms, max ${p.maxMs} ms, ${p.cpuPerApplyUs} µs CPU/instance/change`
    console.log(
      `  rounds 1–${r.startup.rounds} (start-up): ${part(r.startup)}; rounds ${r.startup.rounds + 1}–${r.rounds}: ${part(r.later)}`,
    )
  }
  const file = results.find((r) => r.store === 'file')
  // The target is #8's: 100 instances, the config one resource. Other shapes are measured, not judged.
  if (file && INSTANCES === 100 && SERVICES === 0)
    console.log(`target p99 ≤ 50 ms on the file store: ${file.p99ms <= 50 ? 'met' : 'MISSED'}`)
  else if (file)
    console.log('target p99 ≤ 50 ms: set for 100 instances and a one-resource config, not judged here')
}
