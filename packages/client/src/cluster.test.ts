import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { ClusterRegistry } from './cluster.js'
import { clusterHealth } from './cluster-health.js'

/** A seeded generator, so that shares are the same on every run. */
function seeded(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const endpoints = [
  { address: '10.0.0.1', locality: 'us-east/a' },
  { address: '10.0.0.2', locality: 'us-east/a' },
  { address: '10.0.0.3', locality: 'us-east/b' },
  { address: '10.0.0.4', locality: 'eu-west/a' },
]

function snapshotOf(trafficPolicy: string, list = endpoints): Snapshot {
  const text = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: default }
spec:
  hosts: [api.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
${list.map((e) => `    - { address: ${e.address}, locality: ${e.locality} }`).join('\n')}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: default }
spec:
  host: api.example.internal
  trafficPolicy:
${trafficPolicy}
`
  const loaded = loadConfig([{ file: 'locality.yaml', text }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  return compileSnapshot(loaded.resources)
}

const target = { host: 'api.example.internal', port: 80, subset: undefined }

function shares(pick: () => { address: string } | undefined, n = 4000): Record<string, number> {
  const counts: Record<string, number> = {}
  for (let i = 0; i < n; i++) {
    const address = pick()?.address ?? 'none'
    counts[address] = (counts[address] ?? 0) + 1
  }
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Math.round((100 * v) / n)]))
}

const outlier = `
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 }
    loadBalancer: { simple: ROUND_ROBIN }`

describe('Cluster: locality failover (Envoy priorities, Istio defaults)', () => {
  it.each([
    {
      name: 'caller in us-east/a: its own zone takes everything while healthy',
      policy: outlier,
      locality: 'us-east/a',
      eject: [],
      want: { '10.0.0.1': 50, '10.0.0.2': 50 },
    },
    {
      name: 'one of two endpoints in the zone ejected: 50 % healthy × 1.4 = 70 % stays, 30 % spills to the region',
      policy: outlier,
      locality: 'us-east/a',
      eject: ['10.0.0.1'],
      want: { '10.0.0.2': 70, '10.0.0.3': 30 },
    },
    {
      name: 'the zone lost: the region next, never the other region while it is healthy',
      policy: outlier,
      locality: 'us-east/a',
      eject: ['10.0.0.1', '10.0.0.2'],
      want: { '10.0.0.3': 100 },
    },
    {
      name: 'no outlier detection: Istio keeps locality failover off, all endpoints share',
      policy: '    loadBalancer: { simple: ROUND_ROBIN }',
      locality: 'us-east/a',
      eject: [],
      want: { '10.0.0.1': 25, '10.0.0.2': 25, '10.0.0.3': 25, '10.0.0.4': 25 },
    },
    {
      name: 'localityLbSetting.enabled false: off',
      policy: `
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 }
    loadBalancer: { simple: ROUND_ROBIN, localityLbSetting: { enabled: false } }`,
      locality: 'us-east/a',
      eject: [],
      want: { '10.0.0.1': 25, '10.0.0.2': 25, '10.0.0.3': 25, '10.0.0.4': 25 },
    },
    {
      name: 'caller locality unknown: off',
      policy: outlier,
      locality: undefined,
      eject: [],
      want: { '10.0.0.1': 25, '10.0.0.2': 25, '10.0.0.3': 25, '10.0.0.4': 25 },
    },
    {
      name: 'distribute: 80 % to the own zone, 20 % to eu-west, shared by their endpoints',
      policy: `    loadBalancer:
      simple: ROUND_ROBIN
      localityLbSetting:
        distribute:
          - from: us-east/a/*
            to: { "us-east/a/*": 80, "eu-west/*": 20 }`,
      locality: 'us-east/a',
      eject: [],
      want: { '10.0.0.1': 40, '10.0.0.2': 40, '10.0.0.4': 20 },
    },
  ])('$name', ({ policy, locality, eject, want }) => {
    const snapshot = snapshotOf(policy)
    const random = seeded(7)
    const source = { namespace: 'default', labels: { app: 'caller' }, ...(locality ? { locality } : {}) }
    const cluster = new ClusterRegistry().get(snapshot, target, source, random, 0)
    for (const address of eject)
      cluster.outlier?.record(`${address}:80`, { kind: 'response', status: 503 }, 1)
    const got = shares(() => cluster.pick(undefined, 2))
    for (const [address, share] of Object.entries(want)) expect(got[address] ?? 0).toBeCloseTo(share, -1)
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort())
  })
})

describe('Cluster: slow start (warmup)', () => {
  const policy =
    '    loadBalancer: { simple: ROUND_ROBIN, warmup: { duration: 10s, minimumPercent: 10, aggression: 1 } }'

  it('endpoints there from the start take full shares; one that joins later ramps up over the window', () => {
    const first = snapshotOf(policy, endpoints.slice(0, 1))
    const registry = new ClusterRegistry()
    const source = { namespace: 'default', labels: {} }
    const random = seeded(3)
    const cluster = registry.get(first, target, source, random, 0)
    expect(shares(() => cluster.pick(undefined, 1))).toEqual({ '10.0.0.1': 100 })

    const second = snapshotOf(policy, endpoints.slice(0, 2))
    registry.get(second, target, source, random, 1_000)
    // Joined at 1 s: at 1 s it gets the 10 % floor, halfway it gets half a share, after 10 s a full one.
    const newShare = (nowMs: number) => shares(() => cluster.pick(undefined, nowMs))['10.0.0.2'] ?? 0
    expect(newShare(1_000)).toBeCloseTo(100 * (0.1 / 1.1), -1)
    expect(newShare(6_000)).toBeCloseTo(100 * (0.5 / 1.5), -1)
    expect(newShare(11_000)).toBeCloseTo(50, -1)
  })
})

describe('health view (what a client reports to the control plane)', () => {
  // A telemetry per test: `clusterHealth` reaches every registry made with the one it is given.
  const newTelemetry = () => ({
    start: () => undefined,
    breakerStateChanged: () => {},
    endpointEjected: () => {},
    retryBudgetExhausted: () => {},
  })
  const policy = `    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 30s
      maxEjectionPercent: 100`

  it.each([
    { atMs: 1_000, ejected: true },
    { atMs: 30_999, ejected: true },
    { atMs: 31_000, ejected: false },
  ])('an endpoint ejected at 1 s for 30 s, seen at $atMs ms: ejected $ejected', ({ atMs, ejected }) => {
    const telemetry = newTelemetry()
    const registry = new ClusterRegistry(undefined, telemetry)
    const snapshot = snapshotOf(policy)
    const cluster = registry.get(snapshot, target, { namespace: 'default', labels: {} }, seeded(1), 0)
    cluster.outlier?.record('10.0.0.2:80', { kind: 'response', status: 503 }, 1_000)
    const [health, ...others] = clusterHealth(telemetry, atMs)
    expect(others).toEqual([])
    expect(health).toMatchObject({ service: 'api.example.internal', subset: null, breaker: null })
    expect(health?.endpoints).toHaveLength(4)
    expect(health?.endpoints.find((e) => e.address === '10.0.0.2:80')).toEqual({
      address: '10.0.0.2:80',
      healthy: !ejected,
      ejected,
      ejectedUntil: ejected ? 31_000 : null,
    })
    expect(health?.endpoints.filter((e) => e.ejected)).toHaveLength(ejected ? 1 : 0)
  })

  it('lists only clusters requests used, and none for a telemetry no registry was made with', () => {
    const telemetry = newTelemetry()
    const registry = new ClusterRegistry(undefined, telemetry)
    expect(registry.health(0)).toEqual([])
    registry.get(snapshotOf(policy), target, { namespace: 'default', labels: {} }, seeded(1), 0)
    expect(registry.health(0).map((c) => c.cluster)).toEqual(['outbound|80||api.example.internal'])
    expect(clusterHealth(newTelemetry(), 0)).toEqual([])
  })
})
