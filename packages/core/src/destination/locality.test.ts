import { describe, expect, it } from 'vitest'
import { distributeWeights, localityPriority, pickPriority, priorityLoads } from './locality.js'

const caller = {
  locality: 'us-west/zone1/sub1',
  labels: { 'topology.istio.io/network': 'n1', 'topology.kubernetes.io/region': 'us-west' },
}

describe('localityPriority (Istio locality failover)', () => {
  const cases: [
    name: string,
    locality: string,
    failover: { from: string; to: string }[] | undefined,
    want: number,
  ][] = [
    ['Istio: same region, zone and subzone is priority 0', 'us-west/zone1/sub1', undefined, 0],
    ['Istio: same zone, other subzone is priority 1', 'us-west/zone1/sub2', undefined, 1],
    ['Istio: same region, other zone is priority 2', 'us-west/zone2/sub1', undefined, 2],
    ['Istio: another region is priority 3 without failover rules', 'us-east/zone1/sub1', undefined, 3],
    [
      'Istio: the failover region is priority 3',
      'us-east/zone1/sub1',
      [{ from: 'us-west', to: 'us-east' }],
      3,
    ],
    [
      'Istio: a region failover does not name is priority 4',
      'eu-west/zone1/sub1',
      [{ from: 'us-west', to: 'us-east' }],
      4,
    ],
    ['Istio: an endpoint without locality is another region', '', undefined, 3],
  ]
  for (const [name, locality, failover, want] of cases) {
    it(name, () =>
      expect(localityPriority({ locality }, caller, failover ? { failover } : undefined)).toBe(want),
    )
  }

  const labelCases: [name: string, labels: Record<string, string>, keys: string[], want: number][] = [
    [
      'Istio failoverPriority: every label matches → 0',
      { 'topology.istio.io/network': 'n1', 'topology.kubernetes.io/region': 'us-west' },
      ['topology.istio.io/network', 'topology.kubernetes.io/region'],
      0,
    ],
    [
      'Istio failoverPriority: only the first label matches → 1',
      { 'topology.istio.io/network': 'n1', 'topology.kubernetes.io/region': 'eu' },
      ['topology.istio.io/network', 'topology.kubernetes.io/region'],
      1,
    ],
    [
      'Istio failoverPriority: the first label differs → lowest, whatever follows',
      { 'topology.istio.io/network': 'n2', 'topology.kubernetes.io/region': 'us-west' },
      ['topology.istio.io/network', 'topology.kubernetes.io/region'],
      2,
    ],
    [
      'Istio failoverPriority: key=value compares to the value, not the caller',
      { env: 'prod' },
      ['env=prod'],
      0,
    ],
  ]
  for (const [name, labels, keys, want] of labelCases) {
    it(name, () => expect(localityPriority({ labels }, caller, { failoverPriority: keys })).toBe(want))
  }
})

describe('priorityLoads (Envoy overprovisioning factor 1.4)', () => {
  const cases: [name: string, healthy: number[], total: number[], want: number[]][] = [
    ['Envoy: a healthy priority 0 takes all traffic', [4, 4], [4, 4], [100, 0]],
    ['Envoy: 72 % healthy still counts as fully available', [18, 4], [25, 4], [100, 0]],
    ['Envoy: half healthy takes 70 %, the rest spills to priority 1', [2, 4], [4, 4], [70, 30]],
    ['Envoy: an empty priority 0 sends everything on', [0, 3], [3, 3], [0, 100]],
    ['Envoy: degraded overall, loads are scaled up to 100 %', [1, 1], [4, 4], [50, 50]],
    ['Envoy: nothing healthy anywhere, no load', [0, 0], [2, 2], [0, 0]],
  ]
  for (const [name, healthy, total, want] of cases) {
    it(name, () => {
      const loads = priorityLoads(healthy, total)
      want.forEach((w, i) => {
        expect(loads[i]).toBeCloseTo(w, 6)
      })
    })
  }

  it('pickPriority draws by the loads', () => {
    expect([0, 0.69, 0.7, 0.99].map((r) => pickPriority([70, 30], () => r))).toEqual([0, 0, 1, 1])
    expect(pickPriority([0, 0], () => 0.5)).toBe(-1)
  })
})

describe('distributeWeights (Istio localityLbSetting.distribute)', () => {
  const endpoints = [
    { locality: 'us-west/zone1/a' },
    { locality: 'us-west/zone1/b' },
    { locality: 'us-west/zone2/a' },
    { locality: 'eu/zone1/a' },
  ]
  it('Istio: 80 % to zone1 shared by its endpoints, 20 % to zone2, none elsewhere', () => {
    const setting = {
      distribute: [{ from: 'us-west/zone1/*', to: { 'us-west/zone1/*': 80, 'us-west/zone2/*': 20 } }],
    }
    expect(distributeWeights(endpoints, caller, setting)).toEqual([40, 40, 20, 0])
  })
  it('Istio: an entry whose from does not match the caller does not apply', () => {
    const setting = { distribute: [{ from: 'eu/*', to: { 'eu/*': 100 } }] }
    expect(distributeWeights(endpoints, caller, setting)).toBeUndefined()
  })
})
