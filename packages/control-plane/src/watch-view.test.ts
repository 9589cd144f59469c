import type { RegistryEndpoint, Resource } from '@weft/config'
import { describe, expect, it } from 'vitest'
import type { RegisteredEndpoint, StoredResource, StoreState } from './store/config-store.js'
import { diffViews, endpointKey, WatchView } from './watch-view.js'

function vs(name: string, version: string, host = name): StoredResource {
  const resource = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default', resourceVersion: version },
    spec: { hosts: [host], http: [{ route: [{ destination: { host } }] }] },
  } as unknown as Resource
  return { resource, resourceVersion: version }
}

function ep(service: string, port: number, labels: Record<string, string> = {}): RegistryEndpoint {
  return { service, namespace: 'default', address: '127.0.0.1', port, labels }
}

function state(
  revision: number,
  resources: StoredResource[],
  endpoints: [lease: string, endpoint: RegistryEndpoint][] = [],
): StoreState {
  return {
    revision,
    resources: new Map(
      resources.map((r) => [
        `${r.resource.kind}/${r.resource.metadata.namespace}/${r.resource.metadata.name}`,
        r,
      ]),
    ),
    endpoints: new Map(
      endpoints.map(([lease, endpoint]): [string, RegisteredEndpoint] => [lease, { lease, endpoint }]),
    ),
  }
}

const a1 = vs('a', '1')
const a3 = vs('a', '3', 'a2')
const b2 = vs('b', '2')

describe('diffViews: what a watcher holding one version needs to reach another', () => {
  it.each([
    {
      why: 'nothing changed',
      from: state(2, [a1, b2]),
      to: state(3, [a1, b2]),
      put: [],
      delete: [],
    },
    {
      why: 'a resource written again (new resourceVersion) is sent whole; the others are not',
      from: state(2, [a1, b2]),
      to: state(3, [a3, b2]),
      put: ['a@3'],
      delete: [],
    },
    {
      why: 'a new resource is sent',
      from: state(1, [a1]),
      to: state(2, [a1, b2]),
      put: ['b@2'],
      delete: [],
    },
    {
      why: 'a removed resource is named by its key',
      from: state(2, [a1, b2]),
      to: state(3, [a1]),
      put: [],
      delete: ['VirtualService/default/b'],
    },
    {
      why: 'everything replaced',
      from: state(2, [b2]),
      to: state(3, [a3]),
      put: ['a@3'],
      delete: ['VirtualService/default/b'],
    },
  ])('$why', ({ from, to, put, delete: deleted }) => {
    const changes = diffViews(new WatchView(from, 'bundle'), new WatchView(to, 'bundle'))
    expect(changes.put.map((r) => `${r.metadata.name}@${r.metadata.resourceVersion}`)).toEqual(put)
    expect(changes.delete).toEqual(deleted)
    expect(changes.endpoints).toBeUndefined()
    expect(changes.trustBundle).toBeUndefined()
  })

  it.each([
    {
      why: 'an endpoint registered',
      from: [] as [string, RegistryEndpoint][],
      to: [['l1', ep('reviews', 9080)]] as [string, RegistryEndpoint][],
      expected: { put: ['default/reviews/127.0.0.1/9080'], delete: [] },
    },
    {
      why: 'an endpoint whose lease lapsed',
      from: [
        ['l1', ep('reviews', 9080)],
        ['l2', ep('reviews', 9081)],
      ] as [string, RegistryEndpoint][],
      to: [['l2', ep('reviews', 9081)]] as [string, RegistryEndpoint][],
      expected: { put: [], delete: ['default/reviews/127.0.0.1/9080'] },
    },
    {
      why: 'an endpoint registered again with other labels is sent again',
      from: [['l1', ep('reviews', 9080, { version: 'v1' })]] as [string, RegistryEndpoint][],
      to: [['l2', ep('reviews', 9080, { version: 'v2' })]] as [string, RegistryEndpoint][],
      expected: { put: ['default/reviews/127.0.0.1/9080'], delete: [] },
    },
    {
      why: 'the same endpoint under a new lease (equal content, new object) is no change',
      from: [['l1', ep('reviews', 9080)]] as [string, RegistryEndpoint][],
      to: [['l2', ep('reviews', 9080)]] as [string, RegistryEndpoint][],
      expected: undefined,
    },
  ])('endpoints: $why', ({ from, to, expected }) => {
    const changes = diffViews(new WatchView(state(1, [], from), 'b'), new WatchView(state(2, [], to), 'b'))
    expect(
      changes.endpoints && { put: changes.endpoints.put.map(endpointKey), delete: changes.endpoints.delete },
    ).toEqual(expected)
  })

  it('sends the trust bundle only when it changed', () => {
    const s = state(1, [a1])
    expect(diffViews(new WatchView(s, 'old'), new WatchView(state(2, [a1]), 'new')).trustBundle).toBe('new')
    expect(
      diffViews(new WatchView(s, 'same'), new WatchView(state(2, [a1]), 'same')).trustBundle,
    ).toBeUndefined()
  })
})

describe('WatchView', () => {
  it('keeps one endpoint per (namespace, service, address, port): the first lease registered', () => {
    const view = new WatchView(
      state(
        1,
        [],
        [
          ['old', ep('reviews', 9080, { version: 'v1' })],
          ['new', ep('reviews', 9080, { version: 'v2' })],
          ['other', ep('ratings', 9080)],
        ],
      ),
      'b',
    )
    expect([...view.endpoints.keys()]).toEqual([
      'default/reviews/127.0.0.1/9080',
      'default/ratings/127.0.0.1/9080',
    ])
    expect(view.endpoints.get('default/reviews/127.0.0.1/9080')?.labels).toEqual({ version: 'v1' })
  })

  it('a change of resources only reuses the endpoints already indexed', () => {
    const endpoints = state(1, [], [['l1', ep('reviews', 9080)]]).endpoints
    const first = new WatchView({ revision: 1, resources: new Map(), endpoints }, 'b')
    const second = new WatchView({ revision: 2, resources: state(2, [a1]).resources, endpoints }, 'b', first)
    expect(second.endpoints).toBe(first.endpoints)
    expect(diffViews(first, second).endpoints).toBeUndefined()
  })
})
