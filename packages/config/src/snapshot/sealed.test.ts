import { describe, expect, it } from 'vitest'
import { loadConfig } from '../load-config.js'
import type { Resource } from '../model/resource.js'
import { istioFiles } from '../test-support/istio-fixtures.js'
import { isSealed, seal } from './sealed.js'
import type { RegistryEndpoint } from './service-registry.js'
import { compileSnapshot } from './snapshot.js'

const bookinfo = Object.fromEntries(istioFiles('bookinfo').map((s) => [s.file.split('/').pop() as string, s]))

/** Freshly parsed resources: new objects on every call, as a config reload makes them. */
function load(text: string): Resource[] {
  const loaded = loadConfig([{ file: 'inline.yaml', text }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  return loaded.resources
}
const bookinfoText = `${bookinfo['destination-rule-all.yaml']?.text}\n---\n${bookinfo['virtual-service-reviews-80-20.yaml']?.text}`

const endpoint = (service: string, namespace: string, address: string): RegistryEndpoint => ({
  service,
  namespace,
  address,
  port: 9080,
  labels: { app: service, version: 'v1' },
})

describe('seal: compiled parts reused across snapshots', () => {
  it('freezes the value and everything in it', () => {
    const [vs] = seal(load(bookinfo['virtual-service-reviews-80-20.yaml']?.text as string))
    if (!vs) throw new Error('one VirtualService')
    expect(Object.isFrozen(vs)).toBe(true)
    expect(() => {
      ;(vs.spec as { hosts: string[] }).hosts.push('other')
    }).toThrow(TypeError)
  })

  it('the seal is invisible to JSON, spreads, keys and deep equality', () => {
    const [fresh] = load(bookinfo['virtual-service-reviews-80-20.yaml']?.text as string)
    const [sealed] = load(bookinfo['virtual-service-reviews-80-20.yaml']?.text as string).map(seal)
    if (!fresh || !sealed) throw new Error('one VirtualService')
    compileSnapshot([sealed], { trusted: true })
    expect(isSealed(sealed)).toBe(true)
    expect(JSON.stringify(sealed)).toBe(JSON.stringify(fresh))
    expect(Object.keys(sealed)).toEqual(Object.keys(fresh))
    expect({ ...sealed }).toStrictEqual({ ...fresh })
    expect(sealed).toStrictEqual(fresh)
    expect(isSealed({ ...sealed })).toBe(false)
    expect(isSealed(structuredClone(sealed))).toBe(false)
  })

  it('a value frozen before it was sealed stays unsealed, and is compiled afresh', () => {
    const [vs] = load(bookinfo['virtual-service-reviews-80-20.yaml']?.text as string)
    if (!vs) throw new Error('one VirtualService')
    const frozen = seal(Object.freeze(vs))
    expect(isSealed(frozen)).toBe(false)
    const fqdn = 'reviews.default.svc.cluster.local'
    const first = compileSnapshot([frozen], { trusted: true }).virtualServiceFor(fqdn, 'default')
    const second = compileSnapshot([frozen], { trusted: true }).virtualServiceFor(fqdn, 'default')
    expect(second).not.toBe(first)
    expect(second).toEqual(first)
  })

  it('a sealed resource is compiled once; a new object of the same content afresh, to the same version', () => {
    const sealed = load(bookinfoText).map(seal)
    const first = compileSnapshot(sealed, { trusted: true })
    const second = compileSnapshot(sealed, { trusted: true })
    const fqdn = 'reviews.default.svc.cluster.local'
    expect(second.virtualServiceFor(fqdn, 'default')).toBe(first.virtualServiceFor(fqdn, 'default'))
    expect(second.destinationRuleFor(fqdn, 'default')).toBe(first.destinationRuleFor(fqdn, 'default'))

    const reloaded = compileSnapshot(load(bookinfoText), { trusted: true })
    expect(reloaded.virtualServiceFor(fqdn, 'default')).not.toBe(first.virtualServiceFor(fqdn, 'default'))
    expect(reloaded.virtualServiceFor(fqdn, 'default')).toEqual(first.virtualServiceFor(fqdn, 'default'))
    expect(reloaded.version).toBe(first.version)
  })

  it('unsealed resources are compiled afresh every time: a caller may change them in place', () => {
    const resources = load(bookinfoText)
    const first = compileSnapshot(resources, { trusted: true })
    const vs = resources.find((r) => r.kind === 'VirtualService') as Resource & {
      spec: { http: { route: { weight?: number }[] }[] }
    }
    const [v1, v3] = vs.spec.http[0]?.route ?? []
    if (!v1 || !v3) throw new Error('the 80/20 rule has two destinations')
    ;[v1.weight, v3.weight] = [50, 50]
    const second = compileSnapshot(resources, { trusted: true })
    expect(second.version).not.toBe(first.version)
    const action = second.virtualServiceFor('reviews.default.svc.cluster.local', 'default')?.http[0]?.action
    expect(action?.kind === 'route' && action.destinations.cumulative).toEqual([50, 100])
  })

  it('one changed resource: the others are reused, the changed one compiled, the version moves', () => {
    const sealed = load(bookinfoText).map(seal)
    const first = compileSnapshot(sealed, { trusted: true })
    const v3 = load(bookinfo['virtual-service-reviews-v3.yaml']?.text as string).map(seal)
    const changed = [...sealed.filter((r) => r.kind !== 'VirtualService'), ...v3]
    const second = compileSnapshot(changed, { trusted: true })
    expect(second.version).not.toBe(first.version)
    const ratings = 'ratings.default.svc.cluster.local'
    expect(second.destinationRuleFor(ratings, 'default')).toBe(first.destinationRuleFor(ratings, 'default'))
    const route = second.virtualServiceFor('reviews.default.svc.cluster.local', 'default')?.http[0]?.action
    expect(route?.kind === 'route' && route.destinations.destinations.map((d) => d.subset)).toEqual(['v3'])
  })

  it('a sealed part is compiled again when host names resolve differently (a namespace appeared)', () => {
    // `reviews.team` is an external name until a namespace `team` exists, then team's reviews.
    const [vs] = load(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: to-team, namespace: default}
spec:
  hosts: [reviews.team]
  http:
  - route:
    - destination: {host: reviews.team}
`).map(seal)
    if (!vs) throw new Error('one VirtualService')
    const before = compileSnapshot([vs], { trusted: true })
    expect(before.virtualServiceFor('reviews.team', 'default')?.hosts).toEqual(['reviews.team'])
    const after = compileSnapshot([vs], {
      trusted: true,
      registry: [seal(endpoint('reviews', 'team', '10.0.0.1'))],
    })
    const fqdn = 'reviews.team.svc.cluster.local'
    expect(after.virtualServiceFor(fqdn, 'default')?.hosts).toEqual([fqdn])
    expect(after.virtualServiceFor('reviews.team', 'default')).toBeUndefined()
  })

  it('sealed endpoints are compiled once and hash as their content does', () => {
    const sealed = [
      seal(endpoint('ratings', 'default', '10.0.0.1')),
      seal(endpoint('ratings', 'default', '10.0.0.2')),
    ]
    const first = compileSnapshot([], { trusted: true, registry: sealed })
    const second = compileSnapshot([], { trusted: true, registry: sealed })
    const fqdn = 'ratings.default.svc.cluster.local'
    expect(second.service(fqdn)?.endpoints[1]).toBe(first.service(fqdn)?.endpoints[1])
    const plain = compileSnapshot([], {
      trusted: true,
      registry: [endpoint('ratings', 'default', '10.0.0.1'), endpoint('ratings', 'default', '10.0.0.2')],
    })
    expect(plain.version).toBe(first.version)
    expect(plain.service(fqdn)?.endpoints).toEqual(first.service(fqdn)?.endpoints)
    const moved = compileSnapshot([], {
      trusted: true,
      registry: [sealed[0] as RegistryEndpoint, seal(endpoint('ratings', 'default', '10.0.0.3'))],
    })
    expect(moved.version).not.toBe(first.version)
    expect(moved.service(fqdn)?.endpoints.map((e) => e.address)).toEqual(['10.0.0.1', '10.0.0.3'])
  })

  it('the previous snapshot lends its service registry while its sealed parts are the same objects', () => {
    const rules = load(bookinfoText).map(seal)
    const endpoints = [
      seal(endpoint('reviews', 'default', '10.0.0.1')),
      seal(endpoint('reviews', 'default', '10.0.0.2')),
    ]
    const first = compileSnapshot(rules, { trusted: true, registry: endpoints })
    // A rule changed: the services are taken as they were.
    const v3 = load(bookinfo['virtual-service-reviews-v3.yaml']?.text as string).map(seal)
    const changed = [...rules.filter((r) => r.kind !== 'VirtualService'), ...v3]
    const second = compileSnapshot(changed, { trusted: true, registry: endpoints, previous: first })
    expect(second.services).toBe(first.services)
    expect(second.workloads).toBe(first.workloads)
    // Equal content, equal version, with or without a previous snapshot to borrow from.
    expect(compileSnapshot(changed, { trusted: true, registry: endpoints }).version).toBe(second.version)

    // An endpoint replaced: built again, with it.
    const moved = [endpoints[0] as RegistryEndpoint, seal(endpoint('reviews', 'default', '10.0.0.3'))]
    const third = compileSnapshot(changed, { trusted: true, registry: moved, previous: second })
    expect(third.services).not.toBe(second.services)
    const fqdn = 'reviews.default.svc.cluster.local'
    expect(third.service(fqdn)?.endpoints.map((e) => e.address)).toEqual(['10.0.0.1', '10.0.0.3'])
    expect(third.version).not.toBe(second.version)

    // A namespace the config did not know makes `ratings.team` a service of it: built again,
    // though not one registry part changed.
    const registry = [...moved, seal(endpoint('ratings.team', 'default', '10.0.1.1'))]
    const fifth = compileSnapshot(changed, { trusted: true, registry, previous: third })
    expect(fifth.service('ratings.team')?.endpoints).toHaveLength(1)
    const [teamRule] = load(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: local, namespace: team}
spec:
  hosts: [local]
  http:
  - route:
    - destination: {host: local}
`).map(seal)
    const sixth = compileSnapshot([...changed, teamRule as Resource], {
      trusted: true,
      registry,
      previous: fifth,
    })
    expect(sixth.services).not.toBe(fifth.services)
    expect(sixth.service('ratings.team.svc.cluster.local')?.endpoints).toHaveLength(1)
  })

  it('unsealed registry parts are built afresh even with a previous snapshot: a caller may change them in place', () => {
    const rules = load(bookinfoText).map(seal)
    const registry = [endpoint('reviews', 'default', '10.0.0.1')]
    const first = compileSnapshot(rules, { trusted: true, registry })
    ;(registry[0] as { port: number }).port = 9999
    const second = compileSnapshot(rules, { trusted: true, registry, previous: first })
    expect(second.services).not.toBe(first.services)
    expect(second.service('reviews.default.svc.cluster.local')?.endpoints[0]?.port).toBe(9999)
    expect(second.version).not.toBe(first.version)
  })
})
