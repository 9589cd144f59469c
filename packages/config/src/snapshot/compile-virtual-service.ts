import type { VirtualServiceSpec } from '../generated/istio-types.js'
import { parseDurationMs } from '../model/duration.js'
import type { VirtualService } from '../model/resource.js'
import { resourceKey } from '../model/resource.js'
import type { HostResolver } from './host-name.js'
import { compileStringMatch, type StringMatcher } from './string-matcher.js'
import { compileUriRegexRewrite, type UriRegexRewrite } from './uri-regex-rewrite.js'

type HTTPRoute = NonNullable<VirtualServiceSpec['http']>[number]
type HTTPMatch = NonNullable<HTTPRoute['match']>[number]

export interface HeaderOperations {
  readonly set: readonly (readonly [name: string, value: string])[]
  readonly add: readonly (readonly [name: string, value: string])[]
  readonly remove: readonly string[]
}

/** A route's `corsPolicy`, as written: the server side applies it. */
export type CorsPolicy = NonNullable<HTTPRoute['corsPolicy']>

export interface CompiledMatch {
  readonly name?: string
  readonly uri?: StringMatcher
  readonly scheme?: StringMatcher
  readonly method?: StringMatcher
  readonly authority?: StringMatcher
  /** Header names lower-cased, as HTTP/2 and Node deliver them. */
  readonly headers: readonly (readonly [name: string, matcher: StringMatcher])[]
  readonly withoutHeaders: readonly (readonly [name: string, matcher: StringMatcher])[]
  readonly queryParams: readonly (readonly [name: string, matcher: StringMatcher])[]
  readonly port?: number
  readonly sourceLabels?: Readonly<Record<string, string>>
  readonly sourceNamespace?: string
}

export interface RouteDestination {
  /** FQDN, resolved in the VirtualService's namespace. */
  readonly host: string
  readonly subset?: string
  readonly port?: number
  readonly weight: number
  readonly requestHeaders?: HeaderOperations
  readonly responseHeaders?: HeaderOperations
}

/** Destinations with cumulative weights: a pick is a binary search over `cumulative`. */
export interface WeightedDestinations {
  readonly destinations: readonly RouteDestination[]
  readonly cumulative: readonly number[]
  readonly total: number
}

export interface CompiledRetries {
  readonly attempts: number
  readonly perTryTimeoutMs?: number
  readonly retryOn?: string
  readonly retryRemoteLocalities?: boolean
}

export interface CompiledFault {
  /** Percentages are 0–100; unset means the fault never fires, as Istio documents today. */
  readonly delay?: { readonly fixedDelayMs: number; readonly percent: number }
  readonly abort?: { readonly httpStatus?: number; readonly grpcStatus?: string; readonly percent: number }
}

export interface CompiledMirror {
  readonly destination: RouteDestination
  readonly percent: number
}

export type RouteAction =
  | { readonly kind: 'route'; readonly destinations: WeightedDestinations }
  | {
      readonly kind: 'redirect'
      readonly uri?: string
      readonly prefixRewrite?: string
      readonly authority?: string
      readonly scheme?: string
      readonly port?: number
      readonly derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT'
      readonly status: number
    }
  | { readonly kind: 'directResponse'; readonly status: number; readonly body?: string }
  | { readonly kind: 'delegate'; readonly name: string; readonly namespace: string }

export interface CompiledHttpRoute {
  /** `VirtualService/ns/name#http[i]`: where the rule came from, for dumps and logs. */
  readonly source: string
  readonly name?: string
  /** Empty: the rule matches every request. Entries are OR'd, fields within one AND'd. */
  readonly matches: readonly CompiledMatch[]
  readonly action: RouteAction
  readonly rewrite?: {
    readonly uri?: string
    readonly uriRegex?: UriRegexRewrite
    readonly authority?: string
  }
  readonly requestHeaders?: HeaderOperations
  readonly responseHeaders?: HeaderOperations
  readonly timeoutMs?: number
  /** Absent: Istio's default policy applies (the decision engine owns that default). */
  readonly retries?: CompiledRetries
  readonly fault?: CompiledFault
  readonly mirrors: readonly CompiledMirror[]
  readonly corsPolicy?: CorsPolicy
}

export interface CompiledVirtualService {
  readonly source: string
  readonly namespace: string
  /** The namespaces it is visible to; `undefined` means every namespace. */
  readonly exportTo?: ReadonlySet<string>
  readonly hosts: readonly string[]
  readonly http: readonly CompiledHttpRoute[]
}

function headerOperations(
  ops: { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] } | undefined,
) {
  if (!ops) return undefined
  return Object.freeze({
    set: Object.entries(ops.set ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const),
    add: Object.entries(ops.add ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const),
    remove: (ops.remove ?? []).map((k) => k.toLowerCase()),
  })
}

function compileMatch(match: HTTPMatch): CompiledMatch {
  const ignoreCase = match.ignoreUriCase ?? false
  const entries = (m: Record<string, { exact?: string; prefix?: string; regex?: string }> | undefined) =>
    Object.entries(m ?? {}).map(([name, sm]) => [name.toLowerCase(), compileStringMatch(sm)] as const)
  // Every compiled match has the same keys (absent ones undefined): one hidden class for V8,
  // so matching stays monomorphic across thousands of rules.
  return Object.freeze({
    name: match.name,
    uri: match.uri ? compileStringMatch(match.uri, ignoreCase) : undefined,
    scheme: match.scheme ? compileStringMatch(match.scheme) : undefined,
    method: match.method ? compileStringMatch(match.method) : undefined,
    authority: match.authority ? compileStringMatch(match.authority) : undefined,
    headers: entries(match.headers),
    // `regex: "*"` in withoutHeaders means "the header is absent", whatever its value.
    withoutHeaders: Object.entries(match.withoutHeaders ?? {}).map(
      ([name, sm]) =>
        [
          name.toLowerCase(),
          sm.regex === '*' ? compileStringMatch(undefined) : compileStringMatch(sm),
        ] as const,
    ),
    queryParams: entries(match.queryParams),
    port: match.port,
    sourceLabels: match.sourceLabels ? Object.freeze({ ...match.sourceLabels }) : undefined,
    sourceNamespace: match.sourceNamespace || undefined,
  })
}

export function weighted(destinations: RouteDestination[]): WeightedDestinations {
  // A single destination takes all traffic whatever its weight, as Istio emits it.
  const weights = destinations.length === 1 ? [1] : destinations.map((d) => Math.max(0, d.weight))
  const cumulative: number[] = []
  let total = 0
  for (const w of weights) {
    total += w
    cumulative.push(total)
  }
  return Object.freeze({
    destinations: Object.freeze(destinations),
    cumulative: Object.freeze(cumulative),
    total,
  })
}

function destination(
  d: { host: string; subset?: string; port?: { number?: number } },
  namespace: string,
  resolve: HostResolver,
  weight = 0,
  headers?: {
    request?: Parameters<typeof headerOperations>[0]
    response?: Parameters<typeof headerOperations>[0]
  },
): RouteDestination {
  return Object.freeze({
    host: resolve(d.host, namespace),
    subset: d.subset || undefined,
    port: d.port?.number,
    weight,
    requestHeaders: headerOperations(headers?.request),
    responseHeaders: headerOperations(headers?.response),
  })
}

function ms(duration: string | undefined): number | undefined {
  return duration === undefined ? undefined : parseDurationMs(duration)
}

function compileRoute(
  route: HTTPRoute,
  index: number,
  vs: VirtualService,
  resolve: HostResolver,
): CompiledHttpRoute {
  const ns = vs.metadata.namespace
  const source = `${resourceKey(vs)}#http[${index}]`
  let action: RouteAction
  if (route.redirect) {
    const r = route.redirect
    action = {
      kind: 'redirect',
      ...(r.uri ? { uri: r.uri } : {}),
      ...(r.prefixRewrite !== undefined ? { prefixRewrite: r.prefixRewrite } : {}),
      ...(r.authority ? { authority: r.authority } : {}),
      ...(r.scheme ? { scheme: r.scheme } : {}),
      ...(r.port !== undefined ? { port: r.port } : {}),
      ...(r.derivePort ? { derivePort: r.derivePort } : {}),
      status: r.redirectCode ?? 301,
    }
  } else if (route.directResponse) {
    const body = route.directResponse.body
    const text = body?.string ?? (body?.bytes !== undefined ? atob(body.bytes) : undefined)
    action = {
      kind: 'directResponse',
      status: route.directResponse.status,
      ...(text !== undefined ? { body: text } : {}),
    }
  } else if (route.delegate) {
    action = { kind: 'delegate', name: route.delegate.name ?? '', namespace: route.delegate.namespace ?? ns }
  } else {
    action = {
      kind: 'route',
      destinations: weighted(
        (route.route ?? []).map((d) => destination(d.destination, ns, resolve, d.weight ?? 0, d.headers)),
      ),
    }
  }
  const mirrors: CompiledMirror[] = []
  if (route.mirror) {
    // An unset mirror percentage mirrors everything; an explicit 0 mirrors nothing.
    const percent = route.mirrorPercentage?.value ?? route.mirrorPercent ?? route.mirror_percent ?? 100
    mirrors.push({ destination: destination(route.mirror, ns, resolve), percent })
  }
  for (const m of route.mirrors ?? []) {
    mirrors.push({
      destination: destination(m.destination, ns, resolve),
      percent: m.percentage?.value ?? 100,
    })
  }
  const fault = route.fault
  const delayMs = ms(fault?.delay?.fixedDelay)
  const compiledFault: CompiledFault | undefined = fault
    ? {
        ...(fault.delay && delayMs !== undefined
          ? {
              delay: {
                fixedDelayMs: delayMs,
                percent: fault.delay.percentage?.value ?? fault.delay.percent ?? 0,
              },
            }
          : {}),
        ...(fault.abort
          ? {
              abort: {
                ...(fault.abort.httpStatus !== undefined ? { httpStatus: fault.abort.httpStatus } : {}),
                ...(fault.abort.grpcStatus !== undefined ? { grpcStatus: fault.abort.grpcStatus } : {}),
                percent: fault.abort.percentage?.value ?? 0,
              },
            }
          : {}),
      }
    : undefined
  const rewrite = route.rewrite
  const requestHeaders = headerOperations(route.headers?.request)
  const responseHeaders = headerOperations(route.headers?.response)
  return Object.freeze({
    source,
    name: route.name,
    matches: Object.freeze((route.match ?? []).map(compileMatch)),
    action: Object.freeze(action),
    rewrite: rewrite
      ? Object.freeze({
          uri: rewrite.uri,
          uriRegex:
            rewrite.uriRegexRewrite?.match !== undefined
              ? compileUriRegexRewrite(rewrite.uriRegexRewrite.match, rewrite.uriRegexRewrite.rewrite ?? '')
              : undefined,
          authority: rewrite.authority,
        })
      : undefined,
    requestHeaders,
    responseHeaders,
    timeoutMs: ms(route.timeout),
    retries: route.retries
      ? Object.freeze({
          attempts: route.retries.attempts ?? 0,
          perTryTimeoutMs: ms(route.retries.perTryTimeout),
          retryOn: route.retries.retryOn,
          retryRemoteLocalities: route.retries.retryRemoteLocalities ?? undefined,
        })
      : undefined,
    fault: compiledFault ? Object.freeze(compiledFault) : undefined,
    mirrors: Object.freeze(mirrors),
    corsPolicy: route.corsPolicy,
  })
}

/** Only rules for the sidecar mesh apply in-process: `gateways` unset or naming `mesh`. */
export function appliesToMesh(vs: VirtualService): boolean {
  const gateways = vs.spec.gateways ?? []
  return gateways.length === 0 || gateways.includes('mesh')
}

export function compileVirtualService(vs: VirtualService, resolve: HostResolver): CompiledVirtualService {
  const ns = vs.metadata.namespace
  const exportTo = vs.spec.exportTo
  return Object.freeze({
    source: resourceKey(vs),
    namespace: ns,
    ...(exportTo && !exportTo.includes('*')
      ? { exportTo: new Set(exportTo.map((e) => (e === '.' ? ns : e))) }
      : {}),
    hosts: Object.freeze((vs.spec.hosts ?? []).map((h) => resolve(h, ns))),
    http: Object.freeze((vs.spec.http ?? []).map((r, i) => compileRoute(r, i, vs, resolve))),
  })
}
