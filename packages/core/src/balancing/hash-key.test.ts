import { describe, expect, it } from 'vitest'
import { hashKey } from './hash-key.js'

/** Reference MurmurHash3 x86_32 over bytes, written as plainly as the paper's pseudocode. */
function murmurBytes(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0
  const blocks = bytes.length >> 2
  for (let b = 0; b < blocks; b++) {
    let k =
      (bytes[4 * b] as number) |
      ((bytes[4 * b + 1] as number) << 8) |
      ((bytes[4 * b + 2] as number) << 16) |
      ((bytes[4 * b + 3] as number) << 24)
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  let k = 0
  const tail = bytes.length & 3
  const at = blocks * 4
  if (tail === 3) k ^= (bytes[at + 2] as number) << 16
  if (tail >= 2) k ^= (bytes[at + 1] as number) << 8
  if (tail >= 1) {
    k ^= bytes[at] as number
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
  }
  h ^= bytes.length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

describe('hash key: MurmurHash3 x86_32 over UTF-8', () => {
  const vectors: { name: string; text: string; seed: number; expected: number }[] = [
    { name: 'murmur3 reference vector: empty input, seed 0', text: '', seed: 0, expected: 0 },
    { name: 'murmur3 reference vector: empty input, seed 1', text: '', seed: 1, expected: 0x514e28b7 },
    { name: 'murmur3 reference vector: "hello"', text: 'hello', seed: 0, expected: 0x248bfa47 },
    {
      name: 'murmur3 reference vector: the quick brown fox',
      text: 'The quick brown fox jumps over the lazy dog',
      seed: 0,
      expected: 0x2e4ff723,
    },
  ]
  for (const c of vectors) {
    it(c.name, () => expect(hashKey(c.text, c.seed)).toBe(c.expected))
  }

  const texts = [
    'a',
    'ab',
    'abc',
    'abcd',
    'abcde',
    'user-42',
    'café',
    'ü',
    '日本語',
    '🦀 crab',
    'x-user: 𝔘'.repeat(3),
  ]
  for (const text of texts) {
    it(`Envoy hashes header values as bytes: UTF-8 of ${JSON.stringify(text)} matches a byte-wise murmur3`, () => {
      const bytes = new TextEncoder().encode(text)
      expect(hashKey(text)).toBe(murmurBytes(bytes, 0))
      expect(hashKey(text, 1)).toBe(murmurBytes(bytes, 1))
    })
  }

  it('Envoy: the same key always hashes the same (session affinity)', () => {
    expect(hashKey('session=abc')).toBe(hashKey('session=abc'))
    expect(hashKey('session=abc')).not.toBe(hashKey('session=abd'))
  })
})
