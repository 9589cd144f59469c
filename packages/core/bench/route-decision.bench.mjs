#!/usr/bin/env node --expose-gc
// Nanoseconds per routing decision and per endpoint pick, measured side by side in one run.
// Targets (issue #3): route decision median under 1 µs at 10,000 VirtualServices, a host's
// last rule at most 2× its first; endpoint pick under 0.5 µs for every balancer.
// Run: pnpm build && node packages/core/bench/route-decision.bench.mjs [-o json]
import { compileSnapshot, loadConfig } from '@weft/config'
import { createLoadBalancer, hashKey, routeRequest } from '../dist/index.js'
import { measure } from './measure.mjs'

const json = process.argv.includes('-o') && process.argv[process.argv.indexOf('-o') + 1] === 'json'

function mesh(count) {
  const docs = []
  for (let i = 0; i < count; i++) {
    docs.push(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-${i}, namespace: ns-${i % 20}}
spec:
  hosts: [svc-${i}]
  http:
  - match:
    - headers: {end-user: {exact: tester-${i}}}
    route:
    - destination: {host: svc-${i}, subset: v2}
  - match:
    - uri: {prefix: /api/v2/}
      method: {exact: POST}
    route:
    - destination: {host: svc-${i}, subset: v2}
    timeout: 2s
  - route:
    - destination: {host: svc-${i}, subset: v1}
      weight: 90
    - destination: {host: svc-${i}, subset: v2}
      weight: 10`)
  }
  const loaded = loadConfig([{ file: 'bench.yaml', text: docs.join('\n---\n') }])
  return compileSnapshot(loaded.resources, { trusted: true })
}

function request(i, headers, path = '/api/v1/items') {
  return {
    method: 'GET',
    scheme: 'http',
    authority: `svc-${i}.ns-${i % 20}:9080`,
    path,
    header: (name) => headers[name],
    source: { namespace: 'ns-0', labels: { app: 'bench' } },
  }
}

let seed = 42
const random = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x80000000
}

const rows = []
for (const count of (process.env.SIZES ?? '1,100,10000').split(',').map(Number)) {
  process.stderr.write(`  compiling ${count} VirtualServices…\r`)
  const snapshot = mesh(count)
  // Compiling leaves megabytes of garbage; collect it now rather than inside the timed loops.
  globalThis.gc?.()
  // Distinct hosts per call, so a cache of the last answer cannot flatter the figure.
  const firstReqs = Array.from({ length: 1024 }, (_, k) =>
    request(k % count, { 'end-user': `tester-${k % count}` }),
  )
  const lastReqs = Array.from({ length: 1024 }, (_, k) => request(k % count, {}))
  let sink = 0
  const first = measure((i) => {
    sink += routeRequest(snapshot, firstReqs[i & 1023], random).kind.length
  })
  const last = measure((i) => {
    sink += routeRequest(snapshot, lastReqs[i & 1023], random).kind.length
  })
  if (sink === 0) throw new Error('unreachable')
  rows.push({
    case: `route, ${count} VirtualServices`,
    firstRuleNs: Math.round(first),
    lastRuleNs: Math.round(last),
    ratio: +(last / first).toFixed(2),
  })
}
process.stderr.write(' '.repeat(40) + '\r')

const endpoints = Array.from({ length: 100 }, (_, i) => ({
  address: `10.0.${i >> 8}.${i & 255}`,
  port: 8080,
}))
const active = new Uint32Array(100)
const balancers = [
  ['ROUND_ROBIN', { simple: 'ROUND_ROBIN' }],
  ['LEAST_REQUEST', { simple: 'LEAST_REQUEST' }],
  ['RANDOM', { simple: 'RANDOM' }],
  ['RING_HASH', { consistentHash: { httpHeaderName: 'x-user' } }],
  ['MAGLEV', { consistentHash: { httpHeaderName: 'x-user', maglev: { tableSize: 65537 } } }],
]
const keys = Array.from({ length: 1024 }, (_, i) => hashKey(`user-${i}`))
const picks = []
for (const [name, settings] of balancers) {
  const lb = createLoadBalancer(settings, endpoints, random)
  const ctx = { random, activeRequests: active, hash: 0 }
  let sink = 0
  const ns = measure((i) => {
    ctx.hash = keys[i & 1023]
    sink += lb.pick(ctx).port
  }, 100_000)
  if (sink === 0) throw new Error('unreachable')
  picks.push({ balancer: name, endpoints: 100, pickNs: Math.round(ns) })
}

if (json) {
  console.log(JSON.stringify({ routes: rows, picks }, null, 2))
} else {
  console.log(
    'route decision: ns per request (median), 1,024 distinct hosts in turn; first rule = header match, last rule = catch-all weighted split',
  )
  console.log('case                                first rule   last rule   last/first   target')
  for (const r of rows) {
    const target = r.case.includes('10000')
      ? `median < 1000 ns, last ≤ 2× first: ${r.firstRuleNs < 1000 && r.ratio <= 2 ? 'met' : 'MISSED'}`
      : ''
    console.log(
      `${r.case.padEnd(34)} ${String(r.firstRuleNs).padStart(10)}  ${String(r.lastRuleNs).padStart(10)}  ${String(r.ratio).padStart(11)}   ${target}`,
    )
  }
  console.log('\nendpoint pick: ns per pick (median), 100 endpoints')
  console.log('balancer        ns      target')
  for (const p of picks)
    console.log(
      `${p.balancer.padEnd(14)} ${String(p.pickNs).padStart(4)}      < 500: ${p.pickNs < 500 ? 'met' : 'MISSED'}`,
    )
}
