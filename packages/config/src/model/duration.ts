const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y

/**
 * Parses a duration as Istio's YAML writes one (Go's syntax: `1.5s`, `100ms`, `1h30m`) into
 * milliseconds; undefined when it is not one.
 */
export function parseDurationMs(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0) return undefined
  let i = 0
  let sign = 1
  if (text[0] === '-' || text[0] === '+') {
    sign = text[0] === '-' ? -1 : 1
    i = 1
  }
  if (text.slice(i) === '0') return 0
  let total = 0
  let parts = 0
  while (i < text.length) {
    PART.lastIndex = i
    const m = PART.exec(text)
    if (!m) return undefined
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number)
    i = PART.lastIndex
    parts++
  }
  return parts > 0 ? sign * total : undefined
}
