/**
 * A 64-bit FNV-1a hash of a canonical JSON rendering (keys sorted), as 16 hex digits: the
 * snapshot's version. Pure JS, since `@weft/config` does no I/O and imports no `node:` module.
 */
export function contentHash(value: unknown): string {
  const text = canonicalJson(value)
  // Two 32-bit lanes stand in for one 64-bit FNV state without BigInt's cost.
  let h1 = 0x811c9dc5
  let h2 = 0xcbf29ce4
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c ^ (h1 >>> 16), 0x01000193)
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0')
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`
}
