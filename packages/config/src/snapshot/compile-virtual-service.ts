import type { VirtualServiceSpec } from '../generated/istio-types.js'
import { parseDurationMs } from '../model/duration.js'
import type { VirtualService } from '../model/resource.js'
import { resourceKey } from '../model/resource.js'
import type { HostResolver } from './host-name.js'
import { Interner } from './interner.js'
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

const EMPTY: readonly never[] = Object.freeze([])

type HeaderOperationsSpec = { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] }
type StringMatchSpec = { exact?: string; prefix?: string; regex?: string }

/**
 * Compiles the parts of one snapshot's VirtualServices, sharing every part equal to one compiled
 * before (the keys are the parts' JSON, which says all that compiling them reads): a config
 * repeats its matches, destinations and policies, and each compiled part is immutable.
 */
class RouteCompiler {
  readonly #interner: Interner
  readonly #resolve: HostResolver

  constructor(interner: Interner, resolve: HostResolver) {
    this.#interner = interner
    this.#resolve = resolve
  }

  string(s: string): string {
    return this.#interner.string(s)
  }

  optionalString(s: string | undefined): string | undefined {
    return s === undefined ? undefined : this.#interner.string(s)
  }

  headerOperations(ops: HeaderOperationsSpec | undefined): HeaderOperations | undefined {
    if (!ops) return undefined
    // The lists inside stay unfrozen, as the matchers' do: they are destructured per request.
    return this.#interner.value(`headers\0${JSON.stringify(ops)}`, () =>
      Object.freeze({
        set: Object.entries(ops.set ?? {}).map(
          ([k, v]) => [this.string(k.toLowerCase()), this.string(v)] as const,
        ),
        add: Object.entries(ops.add ?? {}).map(
          ([k, v]) => [this.string(k.toLowerCase()), this.string(v)] as const,
        ),
        remove: (ops.remove ?? []).map((k) => this.string(k.toLowerCase())),
      }),
    )
  }

  stringMatch(match: StringMatchSpec | undefined, ignoreCase = false): StringMatcher {
    const m = match ?? {}
    // The first field set decides, as compileStringMatch reads them.
    const [kind, value] =
      m.exact !== undefined
        ? ['e', m.exact]
        : m.prefix !== undefined
          ? ['p', m.prefix]
          : m.regex !== undefined
            ? ['r', m.regex]
            : ['', '']
    if (kind === '') return compileStringMatch(undefined)
    return this.#interner.value(`sm\0${kind}${ignoreCase ? 'i' : ''}\0${value}`, () =>
      compileStringMatch(
        { [kind === 'e' ? 'exact' : kind === 'p' ? 'prefix' : 'regex']: this.string(value) },
        ignoreCase,
      ),
    )
  }

  // Left unfrozen: matching destructures these pairs on every request, and V8 destructures a
  // frozen array on a slower path. They are typed read-only and shared by no caller that writes.
  #named(m: Record<string, StringMatchSpec> | undefined, absentIfStar: boolean) {
    const entries = Object.entries(m ?? {})
    return entries.map(
      ([name, sm]) =>
        [
          this.string(name.toLowerCase()),
          // `regex: "*"` in withoutHeaders means "the header is absent", whatever its value.
          absentIfStar && sm.regex === '*' ? this.stringMatch(undefined) : this.stringMatch(sm),
        ] as const,
    )
  }

  /** `json` is `match`'s JSON, its key. */
  match(match: HTTPMatch, json: string): CompiledMatch {
    return this.#interner.value(`match\0${json}`, () => {
      const ignoreCase = match.ignoreUriCase ?? false
      // Every compiled match has the same keys (absent ones undefined): one hidden class for V8,
      // so matching stays monomorphic across thousands of rules.
      return Object.freeze({
        name: this.optionalString(match.name),
        uri: match.uri ? this.stringMatch(match.uri, ignoreCase) : undefined,
        scheme: match.scheme ? this.stringMatch(match.scheme) : undefined,
        method: match.method ? this.stringMatch(match.method) : undefined,
        authority: match.authority ? this.stringMatch(match.authority) : undefined,
        headers: this.#named(match.headers, false),
        withoutHeaders: this.#named(match.withoutHeaders, true),
        queryParams: this.#named(match.queryParams, false),
        port: match.port,
        sourceLabels: match.sourceLabels ? this.#interner.data({ ...match.sourceLabels }) : undefined,
        sourceNamespace: match.sourceNamespace ? this.string(match.sourceNamespace) : undefined,
      })
    })
  }

  matches(matches: readonly HTTPMatch[] | undefined): readonly CompiledMatch[] {
    if (!matches?.length) return EMPTY
    const keys = matches.map((m) => JSON.stringify(m))
    return this.#interner.value(`matches\0${keys.join('\n')}`, () =>
      Object.freeze(matches.map((m, i) => this.match(m, keys[i] as string))),
    )
  }

  destination(
    d: { host: string; subset?: string; port?: { number?: number } },
    namespace: string,
    weight = 0,
    headers?: { request?: HeaderOperationsSpec; response?: HeaderOperationsSpec },
  ): { key: string; destination: RouteDestination } {
    const host = this.string(this.#resolve(d.host, namespace))
    const subset = d.subset || undefined
    const port = d.port?.number
    const key = `${host}\0${subset ?? ''}\0${port ?? ''}\0${weight}\0${headers ? JSON.stringify(headers) : ''}`
    const destination = this.#interner.value(`destination\0${key}`, () =>
      Object.freeze({
        host,
        subset: this.optionalString(subset),
        port,
        weight,
        requestHeaders: this.headerOperations(headers?.request),
        responseHeaders: this.headerOperations(headers?.response),
      }),
    )
    return { key, destination }
  }

  routeAction(route: NonNullable<HTTPRoute['route']>, namespace: string): RouteAction {
    // A loop, not chained `map`s: see the note in the Snapshot constructor.
    const keys: string[] = []
    const destinations: RouteDestination[] = new Array(route.length)
    for (let i = 0; i < route.length; i++) {
      const d = route[i] as NonNullable<HTTPRoute['route']>[number]
      const compiled = this.destination(d.destination, namespace, d.weight ?? 0, d.headers)
      keys.push(compiled.key)
      destinations[i] = compiled.destination
    }
    return this.#interner.value(`route\0${keys.join('\n')}`, () =>
      Object.freeze({ kind: 'route' as const, destinations: weighted(destinations) }),
    )
  }

  retries(retries: HTTPRoute['retries']): CompiledRetries | undefined {
    if (!retries) return undefined
    return this.#interner.value(`retries\0${JSON.stringify(retries)}`, () =>
      Object.freeze({
        attempts: retries.attempts ?? 0,
        perTryTimeoutMs: ms(retries.perTryTimeout),
        retryOn: this.optionalString(retries.retryOn),
        retryRemoteLocalities: retries.retryRemoteLocalities ?? undefined,
      }),
    )
  }

  fault(fault: HTTPRoute['fault']): CompiledFault | undefined {
    if (!fault) return undefined
    return this.#interner.value(`fault\0${JSON.stringify(fault)}`, () => {
      const delayMs = ms(fault.delay?.fixedDelay)
      return Object.freeze({
        ...(fault.delay && delayMs !== undefined
          ? {
              delay: Object.freeze({
                fixedDelayMs: delayMs,
                percent: fault.delay.percentage?.value ?? fault.delay.percent ?? 0,
              }),
            }
          : {}),
        ...(fault.abort
          ? {
              abort: Object.freeze({
                ...(fault.abort.httpStatus !== undefined ? { httpStatus: fault.abort.httpStatus } : {}),
                ...(fault.abort.grpcStatus !== undefined
                  ? { grpcStatus: this.string(fault.abort.grpcStatus) }
                  : {}),
                percent: fault.abort.percentage?.value ?? 0,
              }),
            }
          : {}),
      })
    })
  }

  rewrite(rewrite: HTTPRoute['rewrite']): CompiledHttpRoute['rewrite'] {
    if (!rewrite) return undefined
    return this.#interner.value(`rewrite\0${JSON.stringify(rewrite)}`, () =>
      Object.freeze({
        uri: this.optionalString(rewrite.uri),
        uriRegex:
          rewrite.uriRegexRewrite?.match !== undefined
            ? compileUriRegexRewrite(rewrite.uriRegexRewrite.match, rewrite.uriRegexRewrite.rewrite ?? '')
            : undefined,
        authority: this.optionalString(rewrite.authority),
      }),
    )
  }

  mirrors(route: HTTPRoute, namespace: string): readonly CompiledMirror[] {
    if (!route.mirror && !route.mirrors?.length) return EMPTY
    const mirrors: CompiledMirror[] = []
    if (route.mirror) {
      // An unset mirror percentage mirrors everything; an explicit 0 mirrors nothing.
      const percent = route.mirrorPercentage?.value ?? route.mirrorPercent ?? route.mirror_percent ?? 100
      mirrors.push(
        Object.freeze({ destination: this.destination(route.mirror, namespace).destination, percent }),
      )
    }
    for (const m of route.mirrors ?? []) {
      mirrors.push(
        Object.freeze({
          destination: this.destination(m.destination, namespace).destination,
          percent: m.percentage?.value ?? 100,
        }),
      )
    }
    return Object.freeze(mirrors)
  }

  data<T>(value: T): T {
    return this.#interner.data(value)
  }
}

const ALL_TO_ONE: readonly number[] = Object.freeze([1])

export function weighted(destinations: RouteDestination[]): WeightedDestinations {
  // A single destination takes all traffic whatever its weight, as Istio emits it.
  // Built with map, not push: a pushed-to array keeps room for 17 elements, and a snapshot holds
  // one of these per route.
  let total = 0
  const cumulative =
    destinations.length === 1
      ? ALL_TO_ONE
      : Object.freeze(destinations.map((d) => (total += Math.max(0, d.weight))))
  if (destinations.length === 1) total = 1
  return Object.freeze({ destinations: Object.freeze(destinations), cumulative, total })
}

function ms(duration: string | undefined): number | undefined {
  return duration === undefined ? undefined : parseDurationMs(duration)
}

function compileAction(route: HTTPRoute, ns: string, compiler: RouteCompiler): RouteAction {
  if (route.redirect) {
    const r = route.redirect
    return Object.freeze({
      kind: 'redirect',
      ...(r.uri ? { uri: compiler.string(r.uri) } : {}),
      ...(r.prefixRewrite !== undefined ? { prefixRewrite: compiler.string(r.prefixRewrite) } : {}),
      ...(r.authority ? { authority: compiler.string(r.authority) } : {}),
      ...(r.scheme ? { scheme: compiler.string(r.scheme) } : {}),
      ...(r.port !== undefined ? { port: r.port } : {}),
      ...(r.derivePort ? { derivePort: r.derivePort } : {}),
      status: r.redirectCode ?? 301,
    })
  }
  if (route.directResponse) {
    const body = route.directResponse.body
    const text = body?.string ?? (body?.bytes !== undefined ? atob(body.bytes) : undefined)
    return Object.freeze({
      kind: 'directResponse',
      status: route.directResponse.status,
      ...(text !== undefined ? { body: compiler.string(text) } : {}),
    })
  }
  if (route.delegate) {
    return Object.freeze({
      kind: 'delegate',
      name: compiler.string(route.delegate.name ?? ''),
      namespace: compiler.string(route.delegate.namespace ?? ns),
    })
  }
  return compiler.routeAction(route.route ?? [], ns)
}

function compileRoute(
  route: HTTPRoute,
  source: string,
  ns: string,
  compiler: RouteCompiler,
): CompiledHttpRoute {
  return Object.freeze({
    source,
    name: compiler.optionalString(route.name),
    matches: compiler.matches(route.match),
    action: compileAction(route, ns, compiler),
    rewrite: compiler.rewrite(route.rewrite),
    requestHeaders: compiler.headerOperations(route.headers?.request),
    responseHeaders: compiler.headerOperations(route.headers?.response),
    timeoutMs: ms(route.timeout),
    retries: compiler.retries(route.retries),
    fault: compiler.fault(route.fault),
    mirrors: compiler.mirrors(route, ns),
    corsPolicy: route.corsPolicy ? compiler.data(route.corsPolicy) : undefined,
  })
}

/** Only rules for the sidecar mesh apply in-process: `gateways` unset or naming `mesh`. */
export function appliesToMesh(vs: VirtualService): boolean {
  const gateways = vs.spec.gateways ?? []
  return gateways.length === 0 || gateways.includes('mesh')
}

export function compileVirtualService(
  vs: VirtualService,
  resolve: HostResolver,
  interner: Interner = new Interner(),
): CompiledVirtualService {
  const compiler = new RouteCompiler(interner, resolve)
  const ns = interner.string(vs.metadata.namespace)
  const source = interner.string(resourceKey(vs))
  const exportTo = vs.spec.exportTo
  return Object.freeze({
    source,
    namespace: ns,
    ...(exportTo && !exportTo.includes('*')
      ? { exportTo: new Set(exportTo.map((e) => interner.string(e === '.' ? ns : e))) }
      : {}),
    hosts: Object.freeze((vs.spec.hosts ?? []).map((h) => interner.string(resolve(h, ns)))),
    http: Object.freeze(
      (vs.spec.http ?? []).map((r, i) =>
        compileRoute(r, interner.unique(`${source}#http[${i}]`), ns, compiler),
      ),
    ),
  })
}
