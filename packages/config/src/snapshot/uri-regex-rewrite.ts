import { compileRe2 } from './re2.js'

/** A compiled `rewrite.uriRegexRewrite`: Envoy's regex_rewrite on the path, query kept. */
export interface UriRegexRewrite {
  readonly match: string
  readonly rewrite: string
  /** Every non-overlapping match replaced, `\1`…`\9` standing for capture groups, as RE2's GlobalReplace. */
  apply(path: string): string
  toString(): string
}

type Piece = string | number

export function compileUriRegexRewrite(match: string, rewrite: string): UriRegexRewrite {
  const re = compileRe2(match)
  // The substitution is parsed once into literal text and group numbers.
  const pieces: Piece[] = []
  let literal = ''
  for (let i = 0; i < rewrite.length; i++) {
    const c = rewrite[i] as string
    const next = rewrite[i + 1]
    if (c === '\\' && next !== undefined && next >= '0' && next <= '9') {
      if (literal) pieces.push(literal)
      literal = ''
      pieces.push(Number(next))
      i++
    } else if (c === '\\' && next === '\\') {
      literal += '\\'
      i++
    } else {
      literal += c
    }
  }
  if (literal) pieces.push(literal)
  return Object.freeze({
    match,
    rewrite,
    apply(path: string): string {
      const m = re.matcher(path)
      let out = ''
      let last = 0
      let from = 0
      while (from <= path.length && m.find(from)) {
        const start = m.start()
        const end = m.end()
        out += path.slice(last, start)
        for (const p of pieces) out += typeof p === 'string' ? p : (m.group(p) ?? '')
        last = end
        // An empty match must not stall the scan.
        from = end === start ? end + 1 : end
      }
      return out + path.slice(last)
    },
    toString: () => `regex-rewrite ${JSON.stringify(match)} → ${JSON.stringify(rewrite)}`,
  })
}
