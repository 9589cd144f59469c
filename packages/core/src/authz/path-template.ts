import { escapeRegExp } from './string-pattern.js'

/**
 * AuthorizationPolicy paths with `{*}` or `{**}`: Istio hands them to Envoy's URI template
 * matcher (`{*}` → `*`, `{**}` → `**`), which turns them into an RE2 regex matched against the
 * whole path:
 * - a literal segment matches itself;
 * - `{*}` is one non-empty segment: `[a-zA-Z0-9-._~%!$&'()+,;:@]+`;
 * - `{**}` is the same characters plus `/`, zero or more: `/allow/{**}` matches `/allow/` and
 *   `/allow/a/b`, not `/allow`; `/store/{**}/cart` matches `/store//cart`.
 * Istio's validation (security.CheckValidPathTemplate) and Envoy's parser
 * (uri_template_internal.cc) both apply: segments are `{*}`, `{**}` or pchar literals, no
 * operator follows `{**}`, no empty segment but a trailing `/`.
 */
export interface PathTemplate {
  /** What every matching path starts with: the literal text before the first operator. */
  readonly literalPrefix: string
  test(path: string): boolean
  toString(): string
}

const MATCH_ONE = '{*}'
const MATCH_ANY = '{**}'
const PCHAR = "A-Za-z0-9\\-._~%!$&'()+,;:@"
// Envoy's kLiteral; Istio's own check also admits `=`, which Envoy's parser then refuses.
const LITERAL = /^[A-Za-z0-9\-._~%!$&'()+,;:@]+$/
const PRINTABLE = /^\/[\x21-\x7e]*$/

/** Istio's `security.ContainsPathTemplate`. */
export function isPathTemplate(path: string): boolean {
  return path.includes(MATCH_ONE) || path.includes(MATCH_ANY)
}

/** The compiled template, or undefined when Istio or Envoy would refuse it. */
export function compilePathTemplate(template: string): PathTemplate | undefined {
  if (!PRINTABLE.test(template)) return undefined
  const segments = template.slice(1).split('/')
  const parts: string[] = []
  let literalPrefix = '/'
  let seenOperator = false
  let seenMatchAny = false
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string
    if (segment === MATCH_ONE || segment === MATCH_ANY) {
      if (seenMatchAny) return undefined
      seenMatchAny = segment === MATCH_ANY
      seenOperator = true
      parts.push(segment === MATCH_ONE ? `[${PCHAR}]+` : `[${PCHAR}/]*`)
    } else if (segment === '' && i === segments.length - 1) {
      parts.push('')
    } else if (LITERAL.test(segment)) {
      parts.push(escapeRegExp(segment))
      if (!seenOperator) literalPrefix += i < segments.length - 1 ? `${segment}/` : segment
    } else {
      return undefined
    }
  }
  const regex = new RegExp(`^/${parts.join('/')}$`)
  return {
    literalPrefix,
    test: (path) => regex.test(path),
    toString: () => `template ${JSON.stringify(template)}`,
  }
}
