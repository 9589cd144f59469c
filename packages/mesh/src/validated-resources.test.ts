import { type Resource, seal } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { ValidatedResources } from './validated-resources.js'

function vs(name: string, version: string | undefined, attempts = 3): Resource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default', ...(version === undefined ? {} : { resourceVersion: version }) },
    spec: { hosts: [name], http: [{ route: [{ destination: { host: name } }], retries: { attempts } }] },
  } as unknown as Resource
}

const errors = (d: readonly { severity: string; message: string; field: string }[]) =>
  d.filter((x) => x.severity === 'error').map((x) => `${x.field}: ${x.message}`)

// A resource validated before comes back as the very object validation made then: that is
// what shows it was not validated again.
describe('ValidatedResources: each version of a resource validated once', () => {
  it.each([
    {
      why: 'the same store, key and resourceVersion: not validated again',
      first: [vs('a', '1')],
      second: [vs('a', '1')],
      store: ['s1', 's1'],
      reused: true,
    },
    {
      why: 'a new resourceVersion: validated',
      first: [vs('a', '1')],
      second: [vs('a', '2')],
      store: ['s1', 's1'],
      reused: false,
    },
    {
      why: 'another store, whose versions count in another history: validated',
      first: [vs('a', '1')],
      second: [vs('a', '1')],
      store: ['s1', 's2'],
      reused: false,
    },
    {
      why: 'no resourceVersion: always validated',
      first: [vs('a', undefined)],
      second: [vs('a', undefined)],
      store: ['s1', 's1'],
      reused: false,
    },
    {
      why: 'no store named: always validated',
      first: [vs('a', '1')],
      second: [vs('a', '1')],
      store: [undefined, undefined],
      reused: false,
    },
  ])('$why', ({ first, second, store, reused }) => {
    const cache = new ValidatedResources()
    const before = cache.validate(first, store[0], 'cp').resources[0]
    const after = cache.validate(second, store[1], 'cp').resources[0]
    expect(after?.spec).toEqual(before?.spec)
    expect(after === before).toBe(reused)
  })

  it('a refused resource is refused again, with the same reason, while it stays', () => {
    const cache = new ValidatedResources()
    const bad = vs('bad', '2', -3)
    const once = cache.validate([vs('a', '1'), bad], 's1', 'cp')
    expect(once.resources.map((r) => r.metadata.name)).toEqual(['a'])
    expect(errors(once.diagnostics)).toHaveLength(1)
    expect(errors(once.diagnostics)[0]).toMatch(/retries\.attempts/)
    const twice = cache.validate([vs('a', '1'), vs('bad', '2', -3)], 's1', 'cp')
    expect(errors(twice.diagnostics)).toEqual(errors(once.diagnostics))
    const fixed = cache.validate([vs('a', '1'), vs('bad', '3')], 's1', 'cp')
    expect(errors(fixed.diagnostics)).toEqual([])
    expect(fixed.resources.map((r) => r.metadata.name)).toEqual(['a', 'bad'])
  })

  it('two resources with one key are refused, as validateDocuments refuses them', () => {
    const result = new ValidatedResources().validate([vs('a', '1'), vs('a', '2')], 's1', 'cp')
    expect(errors(result.diagnostics)).toEqual(['metadata.name: VirtualService/default/a is defined twice'])
    expect(result.resources).toHaveLength(1)
  })

  it('remembers only what the newest config holds', () => {
    const cache = new ValidatedResources()
    const first = cache.validate([vs('a', '1')], 's1', 'cp').resources[0]
    cache.validate([vs('b', '1')], 's1', 'cp')
    const again = cache.validate([vs('a', '1')], 's1', 'cp').resources[0]
    expect(again).toEqual(first)
    expect(again === first).toBe(false)
  })

  it('a sealed resource object is known by identity, within its store, with or without a resourceVersion', () => {
    const cache = new ValidatedResources()
    const a = seal(vs('a', '1'))
    const bad = seal(vs('bad', '2', -3))
    const unversioned = seal(vs('c', undefined))
    const once = cache.validate([a, bad, unversioned], 's1', 'cp')
    const twice = cache.validate([a, bad, unversioned], 's1', 'cp')
    expect(twice.resources[0]).toBe(once.resources[0])
    expect(errors(twice.diagnostics)).toEqual(errors(once.diagnostics))
    expect(errors(twice.diagnostics)[0]).toMatch(/retries\.attempts/)
    // No resourceVersion: a sealed object never changes, so it is known by identity too; an
    // unsealed one of the same content is validated again.
    expect(twice.resources[1]).toBe(once.resources[1])
    const copy = cache.validate([structuredClone(unversioned)], 's1', 'cp')
    expect(copy.resources[0]).not.toBe(once.resources[1])
    expect(copy.resources[0]).toEqual(once.resources[1])
    // Another store's history: validated again.
    const elsewhere = cache.validate([a], 's2', 'cp')
    expect(elsewhere.resources[0]).not.toBe(once.resources[0])
    expect(elsewhere.resources[0]).toEqual(once.resources[0])
  })
})
