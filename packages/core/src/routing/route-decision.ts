import type {
  CompiledHttpRoute,
  CompiledMatch,
  CompiledRetries,
  CorsPolicy,
  HeaderOperations,
  RouteDestination,
  Snapshot,
  WeightedDestinations,
} from '@weft/config'
import { indexAbove } from '../balancing/weighted-pick.js'
import { decideFault, type FaultDecision } from '../fault/fault-decision.js'
import { compileRetryPolicy, type RetryPolicy } from '../resilience/retry-policy.js'
import { hostRoute } from './host-routes.js'
import { createMatchContext, type MatchContext, matchesRequest } from './request-matcher.js'
import type { RouteRequest } from './route-request.js'

/** Where a forwarded request goes: a service host (FQDN), a subset of it, a port. */
export interface RouteTarget {
  readonly host: string
  readonly subset?: string
  readonly port: number
}

export interface MirrorTarget extends RouteTarget {
  /** The authority to send: Envoy appends `-shadow` to the host. */
  readonly authority: string
}

/**
 * What to do with one request. Every variant names the rule that decided it (`rule`,
 * `VirtualService/ns/name#http[i]`) so that logs and `weft dump` can say why.
 */
export type RouteDecision =
  | {
      readonly kind: 'forward'
      /** The FQDN the caller addressed. */
      readonly host: string
      readonly rule?: string
      readonly target: RouteTarget
      /** Path and query to send, after any rewrite. */
      readonly path: string
      readonly authority: string
      /** Header operations in the order to apply them: destination level, then route level. */
      readonly requestHeaders: readonly HeaderOperations[]
      readonly responseHeaders: readonly HeaderOperations[]
      /** Across all attempts; absent means no route timeout (Istio's default). */
      readonly timeoutMs?: number
      readonly retry: RetryPolicy
      readonly fault: FaultDecision
      readonly mirrors: readonly MirrorTarget[]
      readonly cors?: CorsPolicy
    }
  | {
      readonly kind: 'redirect'
      readonly host: string
      readonly rule: string
      readonly status: number
      readonly location: string
    }
  | {
      readonly kind: 'direct-response'
      readonly host: string
      readonly rule: string
      readonly status: number
      readonly body?: string
    }
  /** A VirtualService routes the host but none of its rules matched: Envoy's 404 (NR). */
  | { readonly kind: 'no-route'; readonly host: string; readonly virtualService: string }
  /** `REGISTRY_ONLY` and the host is neither a service nor a ServiceEntry: Envoy's 502 (BlackHoleCluster). */
  | { readonly kind: 'blackhole'; readonly host: string }

const EMPTY: readonly never[] = Object.freeze([])
const DEFAULT_RETRY = compileRetryPolicy(undefined)
// By the compiled retries, which equal routes share: one policy object for all of them.
const retryPolicies = new WeakMap<CompiledRetries, RetryPolicy>()

function retryPolicyOf(route: CompiledHttpRoute): RetryPolicy {
  const retries = route.retries
  if (!retries) return DEFAULT_RETRY
  let policy = retryPolicies.get(retries)
  if (!policy) {
    policy = compileRetryPolicy(retries)
    retryPolicies.set(retries, policy)
  }
  return policy
}

/** The destination whose cumulative weight first exceeds `random() × total`. */
export function pickDestination(
  weighted: WeightedDestinations,
  random: () => number,
): RouteDestination | undefined {
  const { cumulative, destinations, total } = weighted
  if (total <= 0) return undefined
  // One destination takes everything; spending no draw on it keeps seeded runs comparable.
  if (destinations.length === 1) return destinations[0]
  return destinations[indexAbove(cumulative, random() * total)]
}

function firstMatch(route: CompiledHttpRoute, ctx: MatchContext): CompiledMatch | null | undefined {
  if (route.matches.length === 0) return null
  for (const match of route.matches) if (matchesRequest(match, ctx)) return match
  return undefined
}

/** `rewrite.uri` replaces the matched prefix when the rule matched on a prefix, else the whole path. */
function rewritePath(route: CompiledHttpRoute, match: CompiledMatch | null, ctx: MatchContext): string {
  const rewrite = route.rewrite
  const query = ctx.request.path.slice(ctx.pathOnly.length)
  if (rewrite?.uriRegex) return rewrite.uriRegex.apply(ctx.pathOnly) + query
  if (rewrite?.uri === undefined) return ctx.request.path
  if (match?.uri?.kind === 'prefix') return rewrite.uri + ctx.pathOnly.slice(match.uri.value.length) + query
  return rewrite.uri + query
}

function redirectLocation(
  route: CompiledHttpRoute,
  match: CompiledMatch | null,
  ctx: MatchContext,
  host: string,
): string {
  const action = route.action
  if (action.kind !== 'redirect') return ''
  const request = ctx.request
  const scheme = action.scheme ?? request.scheme
  const defaultPort = scheme === 'https' ? 443 : 80
  let port: number | undefined = action.port
  if (port === undefined && action.derivePort === 'FROM_REQUEST_PORT') port = ctx.port
  else if (
    port === undefined &&
    action.derivePort === undefined &&
    action.authority === undefined &&
    action.scheme === undefined
  ) {
    port = ctx.port
  }
  const authorityHost = action.authority ?? host
  const authority = port === undefined || port === defaultPort ? authorityHost : `${authorityHost}:${port}`
  const query = request.path.slice(ctx.pathOnly.length)
  let path = ctx.pathOnly
  if (action.uri !== undefined) path = action.uri
  else if (action.prefixRewrite !== undefined && match?.uri?.kind === 'prefix') {
    path = action.prefixRewrite + ctx.pathOnly.slice(match.uri.value.length)
  }
  // A redirect URI that carries its own query replaces the request's, as Envoy's path_redirect.
  return `${scheme}://${authority}${path}${path.includes('?') ? '' : query}`
}

interface HeaderOperationLists {
  readonly requestHeaders: readonly HeaderOperations[]
  readonly responseHeaders: readonly HeaderOperations[]
}

const NO_HEADER_OPERATIONS: HeaderOperationLists = Object.freeze({
  requestHeaders: EMPTY,
  responseHeaders: EMPTY,
})
// By route, then destination: a compiled destination is shared by every route that names it
// alike, and the lists join its operations with the route's own.
const headerOperations = new WeakMap<CompiledHttpRoute, Map<RouteDestination, HeaderOperationLists>>()

/** Destination-level operations, then route-level ones: fixed per route and destination, so listed once. */
function headerOperationsOf(route: CompiledHttpRoute, destination: RouteDestination): HeaderOperationLists {
  if (
    route.requestHeaders === undefined &&
    route.responseHeaders === undefined &&
    destination.requestHeaders === undefined &&
    destination.responseHeaders === undefined
  ) {
    return NO_HEADER_OPERATIONS
  }
  let byDestination = headerOperations.get(route)
  if (!byDestination) {
    byDestination = new Map()
    headerOperations.set(route, byDestination)
  }
  let ops = byDestination.get(destination)
  if (!ops) {
    const list = (...all: (HeaderOperations | undefined)[]) => {
      const present = all.filter((h): h is HeaderOperations => h !== undefined)
      return present.length ? Object.freeze(present) : EMPTY
    }
    ops = Object.freeze({
      requestHeaders: list(destination.requestHeaders, route.requestHeaders),
      responseHeaders: list(destination.responseHeaders, route.responseHeaders),
    })
    byDestination.set(destination, ops)
  }
  return ops
}

function shadowAuthority(authority: string): string {
  const [host, port] = authority.startsWith('[') ? [authority, ''] : authority.split(/:(?=\d+$)/)
  return port ? `${host}-shadow:${port}` : `${host}-shadow`
}

function fires(percent: number, random: () => number): boolean {
  return percent >= 100 || (percent > 0 && random() * 100 < percent)
}

/**
 * Routes one request through the snapshot, as Envoy routes through the route table Istio
 * generates: the caller's host to an FQDN, its VirtualService, the first rule that matches, and
 * that rule's action with a destination picked by weight. Hosts without a VirtualService go to
 * themselves; hosts unknown to the mesh pass through unless the mesh is `REGISTRY_ONLY`.
 */
export function routeRequest(snapshot: Snapshot, request: RouteRequest, random: () => number): RouteDecision {
  const {
    host,
    hostname,
    port,
    virtualService: vs,
  } = hostRoute(snapshot, request.authority, request.scheme, request.source.namespace)
  if (!vs) {
    if (snapshot.outboundTrafficPolicy === 'REGISTRY_ONLY' && !snapshot.service(host))
      return { kind: 'blackhole', host }
    return {
      kind: 'forward',
      host,
      rule: undefined,
      target: { host, subset: undefined, port },
      path: request.path,
      authority: request.authority,
      requestHeaders: EMPTY,
      responseHeaders: EMPTY,
      timeoutMs: undefined,
      retry: DEFAULT_RETRY,
      fault: decideFault(undefined, random),
      mirrors: EMPTY,
      cors: undefined,
    }
  }
  const ctx = createMatchContext(request, port)
  for (const route of vs.http) {
    const match = firstMatch(route, ctx)
    if (match === undefined) continue
    const action = route.action
    switch (action.kind) {
      case 'redirect':
        return {
          kind: 'redirect',
          host,
          rule: route.source,
          status: action.status,
          location: redirectLocation(route, match, ctx, hostname),
        }
      case 'directResponse':
        return { kind: 'direct-response', host, rule: route.source, status: action.status, body: action.body }
      case 'delegate':
        // Delegation is validated but not followed yet: a delegating rule ends routing here.
        return { kind: 'no-route', host, virtualService: vs.source }
      case 'route':
        return forward(host, port, route, match, ctx, random)
    }
  }
  return { kind: 'no-route', host, virtualService: vs.source }
}

function forward(
  host: string,
  port: number,
  route: CompiledHttpRoute,
  match: CompiledMatch | null,
  ctx: MatchContext,
  random: () => number,
): RouteDecision {
  const action = route.action
  const destination = action.kind === 'route' ? pickDestination(action.destinations, random) : undefined
  if (!destination) return { kind: 'no-route', host, virtualService: route.source }
  const authority = route.rewrite?.authority ?? ctx.request.authority
  const { requestHeaders, responseHeaders } = headerOperationsOf(route, destination)
  let mirrors: MirrorTarget[] | undefined
  for (const mirror of route.mirrors) {
    if (!fires(mirror.percent, random)) continue
    mirrors ??= []
    const { host: mirrorHost, subset, port: mirrorPort } = mirror.destination
    mirrors.push({
      host: mirrorHost,
      subset,
      port: mirrorPort ?? port,
      authority: shadowAuthority(authority),
    })
  }
  // One object shape for every forward decision (absent fields undefined): no spreads, no
  // hidden-class churn on the hot path.
  return {
    kind: 'forward',
    host,
    rule: route.source,
    target: { host: destination.host, subset: destination.subset, port: destination.port ?? port },
    path: rewritePath(route, match, ctx),
    authority,
    requestHeaders,
    responseHeaders,
    timeoutMs: route.timeoutMs,
    retry: retryPolicyOf(route),
    fault: decideFault(route.fault, random),
    mirrors: mirrors ?? EMPTY,
    cors: route.corsPolicy,
  }
}
