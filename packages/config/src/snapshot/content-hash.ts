/**
 * A 64-bit FNV-1a-style hash of a value's canonical JSON (keys sorted), as 16 hex digits: the
 * snapshot's version. It walks the value and feeds the hash as it goes, so that hashing ten
 * thousand resources builds no ten-megabyte string. Pure JS: `@weft/config` imports no `node:`.
 */
export function contentHash(value: unknown): string {
  const state = { h1: 0x811c9dc5, h2: 0xcbf29ce4 }
  feedValue(state, value)
  return (state.h1 >>> 0).toString(16).padStart(8, '0') + (state.h2 >>> 0).toString(16).padStart(8, '0')
}

interface State {
  h1: number
  h2: number
}

function feed(state: State, text: string): void {
  let { h1, h2 } = state
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // Two 32-bit lanes stand in for one 64-bit state without BigInt's cost.
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c ^ (h1 >>> 16), 0x01000193)
  }
  state.h1 = h1
  state.h2 = h2
}

/** Feeds `JSON.stringify(text)` without making it: most strings need no escape. */
function feedString(state: State, text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // Quote, backslash, control characters and surrogates (escaped when alone): JSON's own rules.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
      feed(state, JSON.stringify(text))
      return
    }
  }
  feed(state, '"')
  feed(state, text)
  feed(state, '"')
}

function feedValue(state: State, value: unknown): void {
  if (typeof value === 'string') {
    feedString(state, value)
    return
  }
  if (value === null || typeof value !== 'object') {
    feed(state, JSON.stringify(value) ?? 'null')
    return
  }
  if (Array.isArray(value)) {
    feed(state, '[')
    for (let i = 0; i < value.length; i++) {
      if (i > 0) feed(state, ',')
      feedValue(state, value[i])
    }
    feed(state, ']')
    return
  }
  const record = value as Record<string, unknown>
  // One array per object, sorted in place: every SDK hashes its config on every change, and
  // filtering and Array#sort would each allocate another.
  const keys = sortInPlace(Object.keys(record))
  feed(state, '{')
  let first = true
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string
    if (record[k] === undefined) continue
    if (!first) feed(state, ',')
    first = false
    feedString(state, k)
    feed(state, ':')
    feedValue(state, record[k])
  }
  feed(state, '}')
}

/** Sorted by UTF-16 code units, as `Array#sort` orders strings; few keys by insertion, without a copy. */
function sortInPlace(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort()
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string
    let j = i - 1
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string
      j--
    }
    keys[j + 1] = k
  }
  return keys
}
