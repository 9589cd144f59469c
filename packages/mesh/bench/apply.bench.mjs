#!/usr/bin/env node
// What one config change costs each SDK instance as the mesh grows (issues #8 and #10): an SDK
// holding the control plane's config of N services (a VirtualService and a DestinationRule each,
// two registered endpoints each) takes a delta that changes one VirtualService, through the path
// the control-plane client takes — the watched config, then validate and compile — minus the
// network. The figure is the time that apply holds the instance's event loop (requests wait
// while it runs), as the median and p99 of up to 400 changes, and their mean.
// Run: pnpm build && node packages/mesh/bench/apply.bench.mjs [-o json]
import { createMesh } from '@weft/mesh'
import { WatchedConfig } from '../dist/watched-config.js'

const json = process.argv.includes('-o') && process.argv[process.argv.indexOf('-o') + 1] === 'json'
const SIZES = [10, 100, 1000]
const MAX_ROUNDS = 400
const MAX_MS = 4000
const STORE = 'bench'

const virtualService = (i, round) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: `svc-${i}`, namespace: 'default', resourceVersion: String(round) },
  spec: {
    hosts: [`svc-${i}`],
    http: [
      {
        match: [{ uri: { prefix: '/api/' }, headers: { 'x-tenant': { exact: 'tenant-1' } } }],
        route: [
          { destination: { host: `svc-${i}`, subset: 'v1' }, weight: 90 },
          { destination: { host: `svc-${i}`, subset: 'v2' }, weight: 10 },
        ],
        retries: { attempts: 2, retryOn: '5xx,connect-failure' },
        timeout: `${3 + (round % 7)}s`,
      },
    ],
  },
})

const destinationRule = (i) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'DestinationRule',
  metadata: { name: `svc-${i}`, namespace: 'default', resourceVersion: '1' },
  spec: {
    host: `svc-${i}`,
    trafficPolicy: {
      outlierDetection: { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s' },
    },
    subsets: [
      { name: 'v1', labels: { version: 'v1' } },
      { name: 'v2', labels: { version: 'v2' } },
    ],
  },
})

const endpointsOf = (services) =>
  Array.from({ length: services }, (_, i) =>
    ['v1', 'v2'].map((version, n) => ({
      service: `svc-${i}`,
      namespace: 'default',
      address: `10.${(i >> 8) & 255}.${i & 255}.${n + 1}`,
      port: 8080,
      labels: { app: `svc-${i}`, version },
    })),
  ).flat()

/** Like JSON over the wire: every payload is parsed afresh, as the client parses each event. */
const wire = (value) => JSON.parse(JSON.stringify(value))

async function measure(services) {
  const mesh = await createMesh({ service: 'bench', namespace: 'default', registry: [] })
  const watched = new WatchedConfig()
  const resources = Array.from({ length: services }, (_, i) => [
    virtualService(i, 1),
    destinationRule(i),
  ]).flat()
  let started = performance.now()
  const first = watched.snapshot(
    wire({ store: STORE, version: 1, resources, endpoints: endpointsOf(services), trustBundle: '' }),
  )
  if (mesh.applyPayload(first) !== undefined) throw new Error('the first snapshot was refused')
  const firstMs = performance.now() - started
  const times = []
  const until = performance.now() + MAX_MS
  for (let round = 2; round <= MAX_ROUNDS + 1 && performance.now() < until; round++) {
    const delta = wire({
      store: STORE,
      version: round,
      from: round - 1,
      put: [virtualService(round % services, round)],
      delete: [],
    })
    started = performance.now()
    const payload = watched.delta(delta)
    const refused = payload && mesh.applyPayload(payload)
    const wallUs = (performance.now() - started) * 1000
    if (!payload || refused !== undefined) throw new Error(`round ${round} was not applied: ${refused}`)
    times.push(wallUs)
  }
  await mesh.close()
  const sorted = times.sort((a, b) => a - b)
  // Nearest rank: the smallest value with at least p % of the values at or below it.
  const rank = (p) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]
  return {
    services,
    resources: resources.length,
    endpoints: services * 2,
    rounds: times.length,
    firstSnapshotMs: Math.round(firstMs),
    p50us: Math.round(rank(50)),
    p99us: Math.round(rank(99)),
    meanUs: Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
  }
}

const rows = []
for (const services of SIZES) {
  process.stderr.write(`  ${services} services…   \r`)
  rows.push(await measure(services))
}
process.stderr.write(`${' '.repeat(30)}\r`)
if (json) console.log(JSON.stringify(rows, null, 2))
else {
  console.log('one changed VirtualService, applied by an SDK instance: watched config, validate, compile')
  console.log('services  resources  endpoints  rounds  first snapshot ms  per change p50 µs  p99 µs  mean µs')
  for (const r of rows) {
    console.log(
      `${String(r.services).padStart(8)}  ${String(r.resources).padStart(9)}  ${String(r.endpoints).padStart(9)}  ${String(r.rounds).padStart(6)}  ${String(r.firstSnapshotMs).padStart(17)}  ${String(r.p50us).padStart(17)}  ${String(r.p99us).padStart(6)}  ${String(r.meanUs).padStart(7)}`,
    )
  }
}
