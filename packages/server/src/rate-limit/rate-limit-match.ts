import type { RateLimitPolicySpec } from '@weft/config'
import type { InboundHeaders } from '../inbound-request.js'

/** What a RateLimitPolicy rule reads from a request. */
export interface RateLimitRequest {
  readonly method: string
  /** The normalised path, without the query. */
  readonly path: string
  readonly headers: InboundHeaders
  /** The peer's SPIFFE ID without `spiffe://`, if mTLS told it. */
  readonly principal: string | undefined
}

export type RateLimitMatcher = (request: RateLimitRequest) => boolean

type MatchSpec = NonNullable<RateLimitPolicySpec['rules'][number]['match']>[number]
type StringMatch = { exact?: string; prefix?: string; regex?: string }
type Test = (value: string | undefined) => boolean

/**
 * AuthorizationPolicy's patterns: `*` alone is any non-empty value, `prefix*`, `*suffix`, else
 * exact. An absent value matches nothing.
 */
export function patternTest(pattern: string): Test {
  if (pattern === '*') return (value) => value !== undefined && value !== ''
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1)
    return (value) => value?.startsWith(prefix) === true
  }
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1)
    return (value) => value?.endsWith(suffix) === true
  }
  return (value) => value === pattern
}

function anyOf(patterns: readonly string[]): Test {
  const tests = patterns.map(patternTest)
  return (value) => tests.some((test) => test(value))
}

/** Istio's StringMatch on a header: no field at all means "present"; regexes match the whole value. */
function stringMatchTest(match: StringMatch): Test {
  if (match.exact !== undefined) {
    const exact = match.exact
    return (value) => value === exact
  }
  if (match.prefix !== undefined) {
    const prefix = match.prefix
    return (value) => value?.startsWith(prefix) === true
  }
  if (match.regex !== undefined) {
    const regex = new RegExp(`^(?:${match.regex})$`, 'u')
    return (value) => value !== undefined && regex.test(value)
  }
  return (value) => value !== undefined
}

function headerValue(headers: InboundHeaders, name: string): string | undefined {
  const value = headers[name]
  if (value === undefined || typeof value === 'string') return value
  return value.join(',')
}

/** `cluster.local/ns/NS/sa/SA` → `NS`, as Istio reads a peer's namespace. */
function namespaceOf(principal: string | undefined): string | undefined {
  if (principal === undefined) return undefined
  const parts = principal.split('/')
  return parts.length === 5 && parts[1] === 'ns' && parts[3] === 'sa' ? parts[2] : undefined
}

/** One `match` entry: its fields AND'd, each list OR'd. */
function compileEntry(entry: MatchSpec): RateLimitMatcher {
  const checks: RateLimitMatcher[] = []
  if (entry.paths?.length) {
    const test = anyOf(entry.paths)
    checks.push((r) => test(r.path))
  }
  if (entry.notPaths?.length) {
    const test = anyOf(entry.notPaths)
    checks.push((r) => !test(r.path))
  }
  if (entry.methods?.length) {
    const test = anyOf(entry.methods)
    checks.push((r) => test(r.method))
  }
  for (const [name, match] of Object.entries(entry.headers ?? {})) {
    const lower = name.toLowerCase()
    const test = stringMatchTest(match)
    checks.push((r) => test(headerValue(r.headers, lower)))
  }
  if (entry.sourcePrincipals?.length) {
    const test = anyOf(entry.sourcePrincipals)
    checks.push((r) => test(r.principal))
  }
  if (entry.sourceNamespaces?.length) {
    const test = anyOf(entry.sourceNamespaces)
    checks.push((r) => test(namespaceOf(r.principal)))
  }
  return (request) => checks.every((check) => check(request))
}

/** A rule's `match` list: entries OR'd; no list (or an empty one) matches every request. */
export function compileRateLimitMatch(match: readonly MatchSpec[] | undefined): RateLimitMatcher {
  if (!match || match.length === 0) return () => true
  const entries = match.map(compileEntry)
  return (request) => entries.some((entry) => entry(request))
}
