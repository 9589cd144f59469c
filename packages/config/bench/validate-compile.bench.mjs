#!/usr/bin/env node --expose-gc
// How long `weft validate` (parse + schema + semantic rules) and snapshot compilation take for
// 1,000 and 10,000 resources, and how much heap the compiled Snapshot holds.
// Target (issue #2): 10,000 resources validated and compiled in under 2 s.
// Run: pnpm build && node --expose-gc packages/config/bench/validate-compile.bench.mjs [-o json]
import { performance } from 'node:perf_hooks'
import { compileSnapshot, hasErrors, loadConfig } from '../dist/index.js'

const json = process.argv.includes('-o') && process.argv[process.argv.indexOf('-o') + 1] === 'json'
const gc = globalThis.gc ?? (() => {})
if (!globalThis.gc) console.error('note: run with --expose-gc for heap figures')

/** A realistic mix per service: a VirtualService, a DestinationRule, an AuthorizationPolicy, a ServiceEntry every 4th. */
function generate(count) {
  const docs = []
  for (let i = 0; docs.length < count; i++) {
    const svc = `svc-${i}`
    const ns = `team-${i % 50}`
    docs.push(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${svc}, namespace: ${ns}}
spec:
  hosts: [${svc}]
  http:
  - name: canary-users
    match:
    - headers: {end-user: {exact: tester-${i}}}
    - uri: {regex: "/api/v[0-9]+/items/${i}"}
    route:
    - destination: {host: ${svc}, subset: v2}
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,reset,connect-failure"}
    timeout: 10s
  - route:
    - destination: {host: ${svc}, subset: v1}
      weight: 90
    - destination: {host: ${svc}, subset: v2}
      weight: 10
    fault:
      delay: {fixedDelay: 100ms, percentage: {value: 1}}`)
    if (docs.length === count) break
    docs.push(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${svc}, namespace: ${ns}}
spec:
  host: ${svc}
  trafficPolicy:
    connectionPool: {http: {http1MaxPendingRequests: 100, maxRequestsPerConnection: 10}}
    outlierDetection: {consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}}`)
    if (docs.length === count) break
    docs.push(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${svc}, namespace: ${ns}}
spec:
  selector: {matchLabels: {app: ${svc}}}
  rules:
  - from: [{source: {principals: ["cluster.local/ns/${ns}/sa/frontend"]}}]
    to: [{operation: {methods: [GET, POST], paths: ["/api/*"]}}]
    when: [{key: "request.auth.claims[groups]", values: [dev]}]`)
    if (docs.length === count || i % 4 !== 0) continue
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext-${i}, namespace: ${ns}}
spec:
  hosts: [api-${i}.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 443, name: https, protocol: TLS}]`)
  }
  return `${docs.join('\n---\n')}\n`
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

const rows = []
for (const count of [1_000, 10_000]) {
  const text = generate(count)
  const runs = count >= 10_000 ? 3 : 5
  const validateMs = []
  const compileMs = []
  let loaded
  let snapshot
  for (let r = 0; r < runs; r++) {
    process.stderr.write(`  ${count} resources: run ${r + 1}/${runs}\r`)
    gc()
    const t0 = performance.now()
    loaded = loadConfig([{ file: 'bench.yaml', text }])
    const t1 = performance.now()
    if (hasErrors(loaded.diagnostics) || loaded.resources.length !== count)
      throw new Error(`generated config did not validate: ${JSON.stringify(loaded.diagnostics.slice(0, 3))}`)
    snapshot = undefined
    gc()
    const t2 = performance.now()
    snapshot = compileSnapshot(loaded.resources, { trusted: true })
    const t3 = performance.now()
    validateMs.push(t1 - t0)
    compileMs.push(t3 - t2)
  }
  snapshot = undefined
  gc()
  const before = process.memoryUsage().heapUsed
  snapshot = compileSnapshot(loaded.resources, { trusted: true })
  gc()
  const compiledBytes = process.memoryUsage().heapUsed - before
  // Runs after the first in a process find Ajv's validators compiled and the JIT warm.
  const coldMs = Math.round(validateMs[0] + compileMs[0])
  const v = median(validateMs.slice(1))
  const c = median(compileMs.slice(1))
  rows.push({
    resources: count,
    coldMs,
    validateMs: Math.round(v),
    compileMs: Math.round(c),
    totalMs: Math.round(v + c),
    targetMs: count === 10_000 ? 2000 : undefined,
    compiledHeapMB: globalThis.gc ? +(compiledBytes / 2 ** 20).toFixed(1) : undefined,
    version: snapshot.version,
  })
}
process.stderr.write(' '.repeat(40) + '\r')

if (json) {
  console.log(JSON.stringify(rows, null, 2))
} else {
  console.log(
    'validate (parse + schema + semantic rules) and compile: median of warm runs, and the first run',
  )
  console.log(
    'resources  validate ms  compile ms  total ms  target       first run ms  snapshot heap (MB, beyond the resources)',
  )
  for (const r of rows) {
    const target = r.targetMs ? `< ${r.targetMs} ${r.totalMs < r.targetMs ? 'met' : 'MISSED'}` : ''
    console.log(
      `${String(r.resources).padStart(9)}  ${String(r.validateMs).padStart(11)}  ${String(r.compileMs).padStart(10)}  ${String(r.totalMs).padStart(8)}  ${target.padEnd(12)} ${String(r.coldMs).padStart(12)}  ${r.compiledHeapMB ?? 'n/a'}`,
    )
  }
  console.log(
    'first run: the 1,000 row includes compiling the schema validators once per process; the 10,000 row follows it',
  )
}
