const C1 = 0xcc9e2d51
const C2 = 0x1b873593

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r))
}

/**
 * MurmurHash3 (x86, 32-bit) of a string's UTF-8 bytes, as an unsigned 32-bit integer. Envoy
 * hashes with 64-bit xxHash; a 32-bit hash with murmur3's avalanche is as good for rings of up
 * to a few million entries and needs no BigInt. The bytes are encoded on the fly, so hashing a
 * header value allocates nothing. Lone surrogates are encoded as 3 bytes, like WTF-8.
 */
export function hashKey(text: string, seed = 0): number {
  let h = seed | 0
  let block = 0
  let filled = 0
  let length = 0
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i)
    if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1)
      if (low >= 0xdc00 && low < 0xe000) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00)
        i++
      }
    }
    let bytes: number
    let count: number
    if (cp < 0x80) {
      bytes = cp
      count = 1
    } else if (cp < 0x800) {
      bytes = 0xc0 | (cp >> 6) | ((0x80 | (cp & 0x3f)) << 8)
      count = 2
    } else if (cp < 0x10000) {
      bytes = 0xe0 | (cp >> 12) | ((0x80 | ((cp >> 6) & 0x3f)) << 8) | ((0x80 | (cp & 0x3f)) << 16)
      count = 3
    } else {
      bytes =
        0xf0 |
        (cp >> 18) |
        ((0x80 | ((cp >> 12) & 0x3f)) << 8) |
        ((0x80 | ((cp >> 6) & 0x3f)) << 16) |
        ((0x80 | (cp & 0x3f)) << 24)
      count = 4
    }
    for (let j = 0; j < count; j++) {
      block |= ((bytes >>> (8 * j)) & 0xff) << (8 * filled)
      if (++filled === 4) {
        let k = Math.imul(block, C1)
        k = rotl(k, 15)
        k = Math.imul(k, C2)
        h ^= k
        h = rotl(h, 13)
        h = (Math.imul(h, 5) + 0xe6546b64) | 0
        block = 0
        filled = 0
      }
    }
    length += count
  }
  if (filled > 0) {
    let k = Math.imul(block, C1)
    k = rotl(k, 15)
    k = Math.imul(k, C2)
    h ^= k
  }
  h ^= length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
