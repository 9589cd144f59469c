import { describe, expect, it } from 'vitest'
import { resolveHost } from './host-name.js'
import { Interner } from './interner.js'

describe('Interner: equal values kept once, and still equal', () => {
  it('answers one string for equal strings, equal to what was given, however it was built', () => {
    const interner = new Interner()
    const parts = ['VirtualService', 'default', 'reviews-and-ratings']
    const built = `${parts[0]}/${parts[1]}/${parts[2]}`
    const kept = interner.string(built)
    expect(kept).toBe('VirtualService/default/reviews-and-ratings')
    expect(interner.string(parts.join('/'))).toBe(kept)
    expect(interner.string('short')).toBe('short')
    expect(interner.unique(built)).toBe(built)
    expect(interner.string(`${built}#http[0]`)).not.toBe(kept)
  })

  it('makes a value once per key', () => {
    const interner = new Interner()
    let made = 0
    const make = () => ({ made: ++made })
    const a = interner.value('k1', make)
    expect(interner.value('k1', make)).toBe(a)
    expect(interner.value('k2', make)).not.toBe(a)
    expect(made).toBe(2)
  })

  it('keeps plain data as one frozen copy per content, apart from the object given', () => {
    const interner = new Interner()
    const given = { tcp: { maxConnections: 100 }, hosts: ['a', 'b'] }
    const kept = interner.data(given)
    expect(kept).toEqual(given)
    expect(kept).not.toBe(given)
    expect(Object.isFrozen(kept) && Object.isFrozen(kept.tcp) && Object.isFrozen(kept.hosts)).toBe(true)
    expect(Object.isFrozen(given)).toBe(false)
    expect(interner.data({ tcp: { maxConnections: 100 }, hosts: ['a', 'b'] })).toBe(kept)
    expect(interner.data({ tcp: { maxConnections: 101 }, hosts: ['a', 'b'] })).not.toBe(kept)
    expect(interner.data(undefined)).toBeUndefined()
  })

  it('resolves host names as the resolver it wraps, the same string each time', () => {
    const interner = new Interner()
    const namespaces = new Set(['default', 'prod'])
    const plain = (host: string, ns: string) => resolveHost(host, ns, 'cluster.local', namespaces)
    const resolve = interner.resolver(plain)
    for (const [host, ns] of [
      ['reviews', 'default'],
      ['reviews', 'prod'],
      ['reviews.prod', 'default'],
      ['db.internal', 'prod'],
      ['*.example.com', 'default'],
    ] as const) {
      expect(resolve(host, ns)).toBe(plain(host, ns))
      expect(resolve(host, ns)).toBe(resolve(host, ns))
    }
  })
})
