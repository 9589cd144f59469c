import { isSealed, type RegistryEndpoint, type Resource } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { type DeltaPayload, type SnapshotPayload, WatchedConfig } from './watched-config.js'

function vs(name: string, version: string): Resource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default', resourceVersion: version },
    spec: { hosts: [name] },
  } as unknown as Resource
}

function ep(port: number): RegistryEndpoint {
  return { service: 'reviews', namespace: 'default', address: '127.0.0.1', port, labels: {} }
}

const first: SnapshotPayload = {
  store: 's1',
  version: 3,
  resources: [vs('a', '1'), vs('b', '3')],
  endpoints: [ep(9080)],
  trustBundle: 'bundle-1',
}

const delta = (d: Partial<DeltaPayload>): DeltaPayload => ({
  store: 's1',
  version: 4,
  from: 3,
  put: [],
  delete: [],
  ...d,
})

const names = (p: SnapshotPayload | undefined) =>
  p?.resources.map((r) => `${r.metadata.name}@${r.metadata.resourceVersion}`).sort()

describe('WatchedConfig: deltas applied to the config held', () => {
  it.each([
    {
      why: 'a changed resource replaces the one held; the others stay',
      d: delta({ put: [vs('a', '4')] }),
      resources: ['a@4', 'b@3'],
      ports: [9080],
      bundle: 'bundle-1',
    },
    {
      why: 'a new resource is added, a deleted one goes',
      d: delta({ put: [vs('c', '4')], delete: ['VirtualService/default/b'] }),
      resources: ['a@1', 'c@4'],
      ports: [9080],
      bundle: 'bundle-1',
    },
    {
      why: 'endpoints change only when the delta says so',
      d: delta({ endpoints: { put: [ep(9081)], delete: ['default/reviews/127.0.0.1/9080'] } }),
      resources: ['a@1', 'b@3'],
      ports: [9081],
      bundle: 'bundle-1',
    },
    {
      why: 'a new trust bundle replaces the old',
      d: delta({ trustBundle: 'bundle-2' }),
      resources: ['a@1', 'b@3'],
      ports: [9080],
      bundle: 'bundle-2',
    },
  ])('$why', ({ d, resources, ports, bundle }) => {
    const watched = new WatchedConfig()
    watched.snapshot(first)
    const whole = watched.delta(d)
    expect(names(whole)).toEqual(resources)
    expect(whole?.endpoints.map((e) => e.port)).toEqual(ports)
    expect(whole?.trustBundle).toBe(bundle)
    expect(whole?.version).toBe(4)
    expect(watched.lastEventId).toBe('s1.4')
  })

  it.each([
    { why: 'it starts from another version', d: delta({ from: 2 }) },
    { why: 'it counts in another store', d: delta({ store: 's2' }) },
  ])('a delta is refused, and nothing changes, when $why', ({ d }) => {
    const watched = new WatchedConfig()
    watched.snapshot(first)
    expect(watched.delta(d)).toBeUndefined()
    expect(watched.lastEventId).toBe('s1.3')
    expect(names(watched.current())).toEqual(['a@1', 'b@3'])
  })

  it('a delta with nothing held is refused', () => {
    expect(new WatchedConfig().delta(delta({}))).toBeUndefined()
  })

  it('deltas chain: each builds on the last, refused or not by the SDK', () => {
    const watched = new WatchedConfig()
    watched.snapshot(first)
    watched.delta(delta({ put: [vs('a', '4')] }))
    const third = watched.delta(delta({ version: 5, from: 4, put: [vs('b', '5')] }))
    expect(names(third)).toEqual(['a@4', 'b@5'])
  })

  it('a snapshot replaces everything held, and reset forgets it', () => {
    const watched = new WatchedConfig()
    watched.snapshot(first)
    watched.snapshot({ store: 's2', version: 1, resources: [vs('z', '1')], endpoints: [] })
    expect(names(watched.current())).toEqual(['z@1'])
    expect(watched.current().trustBundle).toBeUndefined()
    expect(watched.lastEventId).toBe('s2.1')
    watched.reset()
    expect(watched.lastEventId).toBeUndefined()
    expect(watched.current().resources).toEqual([])
  })

  it('seals what it holds, and an unchanged resource stays the same object: compiling reuses it', () => {
    const held = new WatchedConfig()
    const given = structuredClone(first)
    held.snapshot(given)
    const b = given.resources.find((r) => r.metadata.name === 'b')
    if (!b) throw new Error('b is in the first snapshot')
    const after = held.delta(delta({ put: [vs('a', '4')], endpoints: { put: [ep(9081)], delete: [] } }))
    expect(after?.resources.every(isSealed)).toBe(true)
    expect(after?.endpoints.every(isSealed)).toBe(true)
    expect(after?.resources.find((r) => r.metadata.name === 'b')).toBe(b)
    expect(() => {
      ;(b.spec as { hosts: string[] }).hosts.push('c')
    }).toThrow(TypeError)
  })
})
