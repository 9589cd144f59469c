#!/usr/bin/env node
// The end-to-end comparison of issue #10 on one machine: what a call costs through Weft in the
// process, against raw undici and against a sidecar pair. Every client, server and proxy runs in
// its own process on 127.0.0.1; the variants are measured in one run, in interleaved rounds
// (A B C … A B C …) so that the machine's drift cancels:
//   raw       undici Pool → node:http server
//   weft      mesh.dispatcher (VirtualService, DestinationRule with outlier detection, retries,
//             metrics) → the same server; and `weft+trace` with an OpenTelemetry SDK registered
//   proxy     undici → HAProxy (client-side sidecar) → HAProxy (server-side sidecar) → server
//   weft-mtls mesh.dispatcher → a Weft server (mesh.listen, STRICT mutual TLS, an
//             AuthorizationPolicy on the caller's principal)
//   proxy-tls undici → HAProxy ⇄ mutual TLS ⇄ HAProxy (path and method rule) → server
// HAProxy is a STAND-IN for an Envoy sidecar pair (no Envoy in Debian's packages): two real proxy
// hops on loopback, one thread each, not Envoy's own numbers. Without `haproxy` the proxy
// variants are skipped, and said so.
// Each measured round follows a short unmeasured one of the same variant, so that every variant
// is measured on connections already open (TLS handshakes are mtls.bench.mjs's subject).
// Targets (issue #10): Weft ≥ 0.90 of raw undici's throughput with added p99 ≤ 60 µs; Weft ≥ 3×
// the proxy pair's throughput per core (requests per CPU-second of every process on the path)
// and a lower p99.
// Run: pnpm build && node packages/mesh/bench/sidecar.bench.mjs [-o json] [--svg PATH]
import { execFileSync, fork, spawn } from 'node:child_process'
import { accessSync, constants, readFileSync, rmSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CertificateAuthority, createKeyAndRequest, FileCaStore } from '@weft/identity'

const argv = process.argv.slice(2)
const option = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined)
const json = option('-o') === 'json'
const svgPath =
  option('--svg') ?? fileURLToPath(new URL('../../../docs/benchmarks-sidecar.svg', import.meta.url))

const ROUNDS = 5
const LOADED = { callers: 16, ms: 1500 }
const SINGLE = { callers: 1, ms: 1000 }
const LEAD_IN_MS = 300
const START_TIMEOUT_MS = 30_000
const ROUND_TIMEOUT_MS = 20_000
// The whole program's bound: past it, every child is stopped and the run fails.
const DEADLINE_MS = 4 * 60_000
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }))

const VARIANTS = [
  { key: 'raw', label: 'raw undici → server' },
  { key: 'weft', label: 'Weft client → server' },
  { key: 'weft+trace', label: 'Weft client, tracing on → server' },
  { key: 'proxy', label: 'undici → HAProxy → HAProxy → server', proxy: true },
  { key: 'weft-mtls', label: 'Weft → Weft server, mTLS + authz' },
  { key: 'proxy-tls', label: 'undici → HAProxy =mTLS= HAProxy → server', proxy: true },
]

const children = new Set()
let workDir
/** Synchronous, so that it also runs from the exit handler, whichever way the program ends. */
function cleanUp() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill()
  if (workDir) rmSync(workDir, { recursive: true, force: true })
  workDir = undefined
}
process.on('exit', cleanUp)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130))
setTimeout(() => {
  console.error(`sidecar.bench: still running after ${DEADLINE_MS / 1000} s; stopping`)
  process.exit(1)
}, DEADLINE_MS).unref()

function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** A node child that reports its first IPC message; its stderr is ours, so failures show. */
function forkChild(file, args) {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), args, {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'advanced',
  })
  children.add(child)
  const first = new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', (code) => reject(new Error(`${file} ${args[0] ?? ''} exited with ${code}`)))
  })
  return { child, first: withTimeout(first, START_TIMEOUT_MS, `${file} start`) }
}

function findHaproxy() {
  // Debian installs it in /usr/sbin, which an unprivileged user's PATH often lacks.
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    try {
      accessSync(join(dir, 'haproxy'), constants.X_OK)
      return join(dir, 'haproxy')
    } catch {}
  }
  return undefined
}

async function freePort() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Resolves once something accepts connections on the port, polling for at most START_TIMEOUT_MS. */
async function accepting(port, child) {
  const until = performance.now() + START_TIMEOUT_MS
  while (performance.now() < until) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}`)
    const open = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.on('error', () => resolve(false))
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`)
}

/** CPU seconds (user + system, all threads) and RSS of a process, from /proc. */
function procStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const cpuS = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return { cpuS, rssBytes: rss ? Number(rss[1]) * 1024 : 0 }
}

async function issue(ca, dir, serviceAccount) {
  const { keyPem, csrPem } = await createKeyAndRequest()
  const certPem = await ca.sign(csrPem, { namespace: 'default', serviceAccount })
  const files = { cert: join(dir, `${serviceAccount}.pem`), key: join(dir, `${serviceAccount}-key.pem`) }
  await writeFile(files.cert, certPem, { mode: 0o600 })
  await writeFile(files.key, keyPem, { mode: 0o600 })
  // HAProxy reads a certificate and its key from one file.
  files.combined = join(dir, `${serviceAccount}-combined.pem`)
  await writeFile(files.combined, `${certPem.trim()}\n${keyPem.trim()}\n`, { mode: 0o600 })
  return files
}

const MESH_YAML = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
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
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s}
    # The callers' raw Pool opens at most 16 connections. Uncapped, undici's pool opens up to
    # twice the connections in flight (docs/client.md), and the comparison would be of those.
    connectionPool: {tcp: {maxConnections: 16}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-viewer, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: ALLOW
  rules:
  - from:
    - source: {principals: [cluster.local/ns/default/sa/productpage]}
    to:
    - operation: {methods: [GET], paths: [/reviews/*]}
`

/**
 * The two sidecars, one HAProxy process each (one thread, as each Node process here has one
 * event loop), each with a plaintext listener and a mutual-TLS one. The server-side sidecar's
 * TLS listener requires a client certificate from the mesh CA and admits GET /reviews/… only:
 * the nearest HAProxy 2.6 comes to the AuthorizationPolicy (it cannot match a URI SAN, so it
 * checks the chain, not the caller's SPIFFE ID). Neither logs.
 */
function haproxyConfigs(ports, certs) {
  const common = `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  http-reuse always
`
  const outbound = `${common}
frontend plain
  bind 127.0.0.1:${ports.outPlain}
  default_backend to-inbound-plain
frontend tls
  bind 127.0.0.1:${ports.outTls}
  default_backend to-inbound-tls
backend to-inbound-plain
  server inbound 127.0.0.1:${ports.inPlain}
backend to-inbound-tls
  server inbound 127.0.0.1:${ports.inTls} ssl verify required ca-file ${certs.bundle} crt ${certs.out.combined}
`
  const inbound = `${common}
frontend plain
  bind 127.0.0.1:${ports.inPlain}
  default_backend app
frontend tls
  bind 127.0.0.1:${ports.inTls} ssl crt ${certs.in.combined} ca-file ${certs.bundle} verify required
  http-request deny unless METH_GET { path_beg /reviews/ }
  default_backend app
backend app
  server app 127.0.0.1:${ports.app}
`
  return { outbound, inbound }
}

async function startHaproxy(binary, dir, name, config, ports) {
  const file = join(dir, `${name}.cfg`)
  await writeFile(file, config)
  const child = spawn(binary, ['-db', '-q', '-f', file], { stdio: ['ignore', 'ignore', 'inherit'] })
  children.add(child)
  for (const port of ports) await accepting(port, child)
  return child
}

/** The nearest-rank percentile of sorted values: the smallest with at least p % at or below it. */
const percentile = (sorted, p) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]

async function main() {
  workDir = await mkdtemp(join(tmpdir(), 'weft-sidecar-bench-'))
  try {
    return await measure(workDir)
  } finally {
    cleanUp()
  }
}

async function measure(dir) {
  const ca = await CertificateAuthority.open({ store: new FileCaStore(join(dir, 'ca')) })
  const bundle = join(dir, 'bundle.pem')
  await writeFile(bundle, ca.trustBundlePem)
  const certs = {
    bundle,
    productpage: await issue(ca, dir, 'productpage'),
    reviews: await issue(ca, dir, 'reviews'),
    out: await issue(ca, dir, 'sidecar-out'),
    in: await issue(ca, dir, 'sidecar-in'),
  }
  const config = join(dir, 'mesh.yaml')
  await writeFile(config, MESH_YAML)
  const identityOf = (files) => ({ cert: files.cert, key: files.key, bundle })

  const plain = forkChild('./sidecar-server.mjs', ['plain'])
  const weftServer = forkChild('./sidecar-server.mjs', [
    'weft',
    JSON.stringify({ config, identity: identityOf(certs.reviews) }),
  ])
  const appPort = (await plain.first).port
  const weftPort = (await weftServer.first).port
  const pids = { server: plain.child.pid, 'weft server': weftServer.child.pid }

  const haproxy = findHaproxy()
  const proxyOrigins = {}
  if (haproxy) {
    const ports = {
      app: appPort,
      outPlain: await freePort(),
      outTls: await freePort(),
      inPlain: await freePort(),
      inTls: await freePort(),
    }
    const configs = haproxyConfigs(ports, certs)
    const inbound = await startHaproxy(haproxy, dir, 'inbound', configs.inbound, [ports.inPlain, ports.inTls])
    const outbound = await startHaproxy(haproxy, dir, 'outbound', configs.outbound, [
      ports.outPlain,
      ports.outTls,
    ])
    pids['HAProxy, client side'] = outbound.pid
    pids['HAProxy, server side'] = inbound.pid
    proxyOrigins.proxy = `http://127.0.0.1:${ports.outPlain}`
    proxyOrigins['proxy-tls'] = `http://127.0.0.1:${ports.outTls}`
  } else {
    console.error(
      'sidecar.bench: no `haproxy` on PATH (apt-get install haproxy): the proxy variants are skipped',
    )
  }

  const reviewsAt = (port, mtls) => [
    {
      service: 'reviews',
      namespace: 'default',
      address: '127.0.0.1',
      port,
      labels: { app: 'reviews', version: 'v1' },
      serviceAccount: 'reviews',
      mtls,
    },
  ]
  const specs = {
    raw: { kind: 'undici', origin: `http://127.0.0.1:${appPort}` },
    weft: { kind: 'weft', config, registry: reviewsAt(appPort, false), tracing: false },
    'weft+trace': { kind: 'weft', config, registry: reviewsAt(appPort, false), tracing: true },
    proxy: { kind: 'undici', origin: proxyOrigins.proxy },
    'weft-mtls': {
      kind: 'weft',
      config,
      registry: reviewsAt(weftPort, true),
      identity: identityOf(certs.productpage),
      tracing: false,
    },
    'proxy-tls': { kind: 'undici', origin: proxyOrigins['proxy-tls'] },
  }
  // The processes each variant's requests pass through, besides its caller.
  const path = {
    raw: ['server'],
    weft: ['server'],
    'weft+trace': ['server'],
    proxy: ['HAProxy, client side', 'HAProxy, server side', 'server'],
    'weft-mtls': ['weft server'],
    'proxy-tls': ['HAProxy, client side', 'HAProxy, server side', 'server'],
  }
  const variants = VARIANTS.filter((v) => haproxy || !v.proxy)
  const callers = {}
  for (const v of variants) {
    const started = forkChild('./sidecar-caller.mjs', [JSON.stringify(specs[v.key])])
    await started.first
    callers[v.key] = started.child
  }

  function callRound(key, shape) {
    const caller = callers[key]
    const answer = new Promise((resolve) => caller.once('message', resolve))
    caller.send({ round: shape })
    return withTimeout(answer, shape.ms + ROUND_TIMEOUT_MS, `${key} round`).then((r) => {
      if (r.failure) throw new Error(`${key}: ${r.failure}`)
      return r
    })
  }

  /** Interleaved rounds of every variant at one shape; per variant the totals and latencies. */
  async function phase(shape, label) {
    const totals = Object.fromEntries(
      variants.map((v) => [
        v.key,
        {
          count: 0,
          seconds: 0,
          callerCpuS: 0,
          callerRss: 0,
          latencies: [],
          processes: Object.fromEntries(path[v.key].map((name) => [name, { cpuS: 0, rssBytes: 0 }])),
        },
      ]),
    )
    for (const v of variants) await callRound(v.key, { ...shape, ms: LEAD_IN_MS * 2 })
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of variants) {
        process.stderr.write(`  ${label}, round ${r + 1}/${ROUNDS}: ${v.key}            \r`)
        await callRound(v.key, { ...shape, ms: LEAD_IN_MS })
        const before = Object.fromEntries(path[v.key].map((name) => [name, procStats(pids[name])]))
        const result = await callRound(v.key, shape)
        const t = totals[v.key]
        t.count += result.count
        t.seconds += result.elapsedMs / 1000
        t.callerCpuS += result.cpuUs / 1e6
        t.callerRss = Math.max(t.callerRss, result.rssBytes)
        t.latencies.push(result.latencies)
        for (const name of path[v.key]) {
          const after = procStats(pids[name])
          const p = t.processes[name]
          p.cpuS += after.cpuS - before[name].cpuS
          p.rssBytes = Math.max(p.rssBytes, after.rssBytes)
        }
      }
    }
    process.stderr.write(`${' '.repeat(70)}\r`)
    return variants.map((v) => {
      const t = totals[v.key]
      const all = new Float64Array(t.latencies.reduce((n, l) => n + l.length, 0))
      let at = 0
      for (const l of t.latencies) {
        all.set(l, at)
        at += l.length
      }
      all.sort()
      const processes = [
        { name: 'caller', cpuS: t.callerCpuS, rssBytes: t.callerRss },
        ...path[v.key].map((name) => ({ name, ...t.processes[name] })),
      ]
      const cpuS = processes.reduce((s, p) => s + p.cpuS, 0)
      return {
        key: v.key,
        label: v.label,
        callers: shape.callers,
        rps: Math.round(t.count / t.seconds),
        p50us: Math.round(percentile(all, 50)),
        p90us: Math.round(percentile(all, 90)),
        p99us: Math.round(percentile(all, 99)),
        cpuS: +cpuS.toFixed(2),
        cores: +(cpuS / t.seconds).toFixed(2),
        perCpuSecond: Math.round(t.count / cpuS),
        processes: processes.map((p) => ({
          name: p.name,
          cpuS: +p.cpuS.toFixed(2),
          cpuUsPerRequest: +((p.cpuS / t.count) * 1e6).toFixed(1),
          rssMB: +(p.rssBytes / 2 ** 20).toFixed(1),
        })),
      }
    })
  }

  const loaded = await phase(LOADED, `${LOADED.callers} callers`)
  const single = await phase(SINGLE, 'one caller')
  for (const caller of Object.values(callers)) caller.disconnect()
  plain.child.disconnect()
  weftServer.child.disconnect()
  return { loaded, single, proxies: Boolean(haproxy) }
}

/** Ratios against the targets. A missing proxy leaves its comparisons out. */
function compare({ loaded, single }) {
  const at = (rows, key) => rows.find((r) => r.key === key)
  const ratio = (a, b) => +(a / b).toFixed(3)
  const out = {
    throughputVsRaw: ratio(at(loaded, 'weft').rps, at(loaded, 'raw').rps),
    throughputTracedVsRaw: ratio(at(loaded, 'weft+trace').rps, at(loaded, 'raw').rps),
    addedP99us: at(single, 'weft').p99us - at(single, 'raw').p99us,
    addedP50us: at(single, 'weft').p50us - at(single, 'raw').p50us,
  }
  for (const [weft, proxy] of [
    ['weft', 'proxy'],
    ['weft-mtls', 'proxy-tls'],
  ]) {
    if (!at(loaded, proxy)) continue
    // What each mesh itself spends per request: Weft's caller beyond raw undici's (for mTLS, the
    // Weft server's beyond the plain server's too), against the two proxies' CPU.
    const cpuUs = (row, name) => row.processes.find((p) => p.name === name)?.cpuUsPerRequest ?? 0
    const raw = at(loaded, 'raw')
    const w = at(loaded, weft)
    const p = at(loaded, proxy)
    const weftOwn =
      cpuUs(w, 'caller') -
      cpuUs(raw, 'caller') +
      (weft === 'weft-mtls' ? cpuUs(w, 'weft server') - cpuUs(raw, 'server') : 0)
    out[`${weft} vs ${proxy}`] = {
      perCoreRatio: ratio(w.perCpuSecond, p.perCpuSecond),
      throughputRatio: ratio(w.rps, p.rps),
      p99us: [w.p99us, p.p99us],
      singleP99us: [at(single, weft).p99us, at(single, proxy).p99us],
      meshCpuUsPerRequest: [
        +weftOwn.toFixed(1),
        +(cpuUs(p, 'HAProxy, client side') + cpuUs(p, 'HAProxy, server side')).toFixed(1),
      ],
    }
  }
  return out
}

const fmt = (n) => String(n)
function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => fmt(r[i]).length)))
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? fmt(c).padEnd(widths[i]) : fmt(c).padStart(widths[i]))).join('  ')
  return [line(headers), ...rows.map(line)].join('\n')
}
const verdict = (ok) => (ok ? 'met' : 'MISSED')

function print(result, ratios) {
  const { loaded, single } = result
  console.log(
    `end to end on one machine, 127.0.0.1; ${ROUNDS} interleaved rounds per variant; each process is its own`,
  )
  console.log(`\n${LOADED.callers} callers, rounds of ${LOADED.ms} ms:`)
  console.log(
    table(
      ['variant', 'req/s', 'p50 µs', 'p90 µs', 'p99 µs', 'cores used', 'req per CPU-s'],
      loaded.map((r) => [r.label, r.rps, r.p50us, r.p90us, r.p99us, r.cores, r.perCpuSecond]),
    ),
  )
  console.log(`\none caller, rounds of ${SINGLE.ms} ms:`)
  console.log(
    table(
      ['variant', 'req/s', 'p50 µs', 'p90 µs', 'p99 µs'],
      single.map((r) => [r.label, r.rps, r.p50us, r.p90us, r.p99us]),
    ),
  )
  console.log(`\nper process, ${LOADED.callers} callers (CPU over the measured rounds; RSS at its peak):`)
  console.log(
    table(
      ['variant', 'process', 'CPU s', 'CPU µs/req', 'RSS MB'],
      loaded.flatMap((r) => r.processes.map((p) => [r.key, p.name, p.cpuS, p.cpuUsPerRequest, p.rssMB])),
    ),
  )
  console.log('\nratios:')
  console.log(
    `  Weft / raw undici, throughput at ${LOADED.callers} callers: ${ratios.throughputVsRaw} (target ≥ 0.90: ${verdict(ratios.throughputVsRaw >= 0.9)}); with tracing: ${ratios.throughputTracedVsRaw}`,
  )
  console.log(
    `  Weft − raw undici, one caller: p99 ${ratios.addedP99us} µs (target ≤ 60: ${verdict(ratios.addedP99us <= 60)}), p50 ${ratios.addedP50us} µs`,
  )
  for (const [name, c] of Object.entries(ratios)) {
    if (typeof c !== 'object') continue
    console.log(
      `  ${name}: requests per CPU-second ${c.perCoreRatio}× (target ≥ 3: ${verdict(c.perCoreRatio >= 3)}); req/s ${c.throughputRatio}×`,
    )
    console.log(
      `    p99 ${c.p99us[0]} vs ${c.p99us[1]} µs at ${LOADED.callers} callers (lower: ${verdict(c.p99us[0] < c.p99us[1])}), ${c.singleP99us[0]} vs ${c.singleP99us[1]} µs at one caller (lower: ${verdict(c.singleP99us[0] < c.singleP99us[1])})`,
    )
    console.log(
      `    the mesh's own CPU per request: Weft ${c.meshCpuUsPerRequest[0]} µs, the two proxies ${c.meshCpuUsPerRequest[1]} µs`,
    )
  }
  if (!result.proxies) console.log('  (no HAProxy: the proxy comparisons were skipped)')
  console.log(
    '\nHAProxy stands in for an Envoy sidecar pair here: a real proxy hop on each side, not Envoy itself.',
  )
}

/** Three bar panels (req/s loaded, requests per CPU-second, p99 at one caller), plain SVG text. */
function chart({ loaded, single }) {
  const panels = [
    { title: `req/s, ${LOADED.callers} callers`, values: loaded.map((r) => r.rps) },
    { title: 'requests per CPU-second', values: loaded.map((r) => r.perCpuSecond) },
    { title: 'p99 µs, one caller (lower is better)', values: single.map((r) => r.p99us) },
  ]
  const labelWidth = 290
  const panelWidth = 230
  const barHeight = 22
  const gap = 8
  const top = 40
  const height = top + loaded.length * (barHeight + gap) + 30
  const width = labelWidth + panels.length * panelWidth + 10
  const colour = (key) =>
    key.startsWith('weft') ? '#2f6fb0' : key.startsWith('proxy') ? '#d9822b' : '#7a7a7a'
  const xmlText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    '<title>Requests per second and p99 latency: Weft, raw undici, and an HAProxy pair standing in for sidecars</title>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ]
  loaded.forEach((r, i) => {
    const y = top + i * (barHeight + gap)
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + barHeight - 7}" text-anchor="end">${xmlText(r.label)}</text>`,
    )
  })
  panels.forEach((panel, p) => {
    const x0 = labelWidth + p * panelWidth
    const max = Math.max(...panel.values)
    const span = panelWidth - 70
    parts.push(`<text x="${x0}" y="${top - 14}" font-weight="bold">${xmlText(panel.title)}</text>`)
    panel.values.forEach((value, i) => {
      const y = top + i * (barHeight + gap)
      const w = Math.max(1, Math.round((value / max) * span))
      parts.push(
        `<rect x="${x0}" y="${y}" width="${w}" height="${barHeight}" fill="${colour(loaded[i].key)}"/>`,
        `<text x="${x0 + w + 4}" y="${y + barHeight - 7}">${value}</text>`,
      )
    })
  })
  parts.push(
    `<text x="8" y="${height - 10}" fill="#555">Weft (blue), raw undici (grey), HAProxy pair as a stand-in for Envoy sidecars (orange); one 2-core machine, loopback</text>`,
    '</svg>',
  )
  return `${parts.join('\n')}\n`
}

try {
  const result = await main()
  const ratios = compare(result)
  await writeFile(svgPath, chart(result))
  if (json) {
    console.log(
      JSON.stringify(
        { rounds: ROUNDS, shapes: { loaded: LOADED, single: SINGLE }, ...result, ratios },
        null,
        2,
      ),
    )
  } else {
    print(result, ratios)
    console.log(`chart: ${svgPath}`)
  }
} catch (error) {
  console.error(`sidecar.bench: ${error.stack ?? error}`)
  process.exitCode = 1
}
