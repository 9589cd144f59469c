import type { CompiledMatch, StringMatcher } from '@weft/config'
import type { RouteRequest } from './route-request.js'

/** What matching needs beyond the request: computed once per request, not per rule. */
export class MatchContext {
  readonly request: RouteRequest
  /** The path without its query: Envoy matches `uri` against it. */
  readonly pathOnly: string
  readonly port: number
  #params: URLSearchParams | undefined

  constructor(request: RouteRequest, port: number) {
    const q = request.path.indexOf('?')
    this.request = request
    this.pathOnly = q < 0 ? request.path : request.path.slice(0, q)
    this.port = port
  }

  query(name: string): string | undefined {
    // Parsed only if some rule matches on query parameters.
    this.#params ??= new URLSearchParams(this.request.path.slice(this.pathOnly.length + 1))
    return this.#params.get(name) ?? undefined
  }
}

export function createMatchContext(request: RouteRequest, port: number): MatchContext {
  return new MatchContext(request, port)
}

/**
 * Envoy's header matching as Istio emits it: a header that is absent matches nothing but an
 * inverted presence check, so `withoutHeaders: {x: {exact: a}}` does not match a request with
 * no `x` at all (Envoy's `invert_match` on a missing header), while `withoutHeaders: {x: {}}`
 * does.
 */
function headerMatches(value: string | undefined, matcher: StringMatcher, inverted: boolean): boolean {
  if (value === undefined) return inverted && matcher.kind === 'present'
  return matcher.test(value) !== inverted
}

/** One `match` entry: every field it sets must hold (AND). */
export function matchesRequest(match: CompiledMatch, ctx: MatchContext): boolean {
  const request = ctx.request
  if (match.uri && !match.uri.test(ctx.pathOnly)) return false
  if (match.method && !match.method.test(request.method)) return false
  if (match.scheme && !match.scheme.test(request.scheme)) return false
  if (match.authority && !match.authority.test(request.authority)) return false
  if (match.port !== undefined && match.port !== ctx.port) return false
  for (const [name, matcher] of match.headers) {
    if (!headerMatches(request.header(name), matcher, false)) return false
  }
  for (const [name, matcher] of match.withoutHeaders) {
    if (!headerMatches(request.header(name), matcher, true)) return false
  }
  for (const [name, matcher] of match.queryParams) {
    const value = ctx.query(name)
    if (value === undefined || !matcher.test(value)) return false
  }
  if (match.sourceNamespace !== undefined && match.sourceNamespace !== request.source.namespace) return false
  if (match.sourceLabels) {
    for (const key in match.sourceLabels) {
      if (request.source.labels[key] !== match.sourceLabels[key]) return false
    }
  }
  return true
}
