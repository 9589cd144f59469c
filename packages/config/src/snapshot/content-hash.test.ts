import { describe, expect, it } from 'vitest'
import { contentHash } from './content-hash.js'

const manyKeys = (order: 'up' | 'down') => {
  const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}`)
  if (order === 'down') keys.reverse()
  return Object.fromEntries(keys.map((k) => [k, k.length]))
}

describe('contentHash', () => {
  it.each([
    ['key order', { a: 1, b: { c: 'x', d: [1, 2] } }, { b: { d: [1, 2], c: 'x' }, a: 1 }],
    ['an undefined field is an absent one', { a: 1, b: undefined }, { a: 1 }],
    ['more keys than the insertion sort takes', manyKeys('up'), manyKeys('down')],
    ['keys that sort by code unit', { B: 1, a: 2, _: 3, é: 4 }, { é: 4, _: 3, a: 2, B: 1 }],
  ])('is equal across %s', (_, a, b) => {
    expect(contentHash(a)).toBe(contentHash(b))
  })

  it.each([
    ['a value', { a: 1 }, { a: 2 }],
    ['a key', { a: 1 }, { b: 1 }],
    ['array order', [1, 2], [2, 1]],
    ['a string and a number', { a: '1' }, { a: 1 }],
    ['a quote inside a string', { a: 'x"y' }, { a: 'x', y: '' }],
    ['null and an empty object', { a: null }, { a: {} }],
  ])('differs for %s', (_, a, b) => {
    expect(contentHash(a)).not.toBe(contentHash(b))
  })

  it('is 16 hex digits', () => {
    expect(contentHash({ spec: { hosts: ['reviews'] } })).toMatch(/^[0-9a-f]{16}$/)
  })
})
