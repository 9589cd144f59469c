import { RE2JS } from 're2js'

const cache = new Map<string, RE2JS>()
const LIMIT = 20_000

/**
 * Compiles an RE2 pattern once per process: validation and snapshot compilation see the same
 * patterns, and a config change recompiles mostly unchanged ones. Throws RE2's syntax error.
 */
export function compileRe2(pattern: string, ignoreCase = false): RE2JS {
  const key = ignoreCase ? `i:${pattern}` : `s:${pattern}`
  let re = cache.get(key)
  if (!re) {
    re = RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0)
    // A crude bound: a config with more distinct patterns than this recompiles some; fine.
    if (cache.size >= LIMIT) cache.clear()
    cache.set(key, re)
  }
  return re
}
