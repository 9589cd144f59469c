import type { VirtualServiceSpec } from '../../generated/istio-types.js'
import type { PathSegment } from '../../model/diagnostic.js'
import type { Resource } from '../../model/resource.js'
import {
  checkHeaderName,
  checkHost,
  checkLabels,
  checkPort,
  checkRegex,
  hostProblem,
  isHeaderName,
  isIP,
  type RuleContext,
} from './rule-context.js'
import { checkExportTo } from './workload-selector.js'

type HTTPRoute = NonNullable<VirtualServiceSpec['http']>[number]
type HTTPMatch = NonNullable<HTTPRoute['match']>[number]
type StringMatch = { exact?: string; prefix?: string; regex?: string }
type HeaderOperations = { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] }

/** The retryOn policies Envoy and Istio accept, besides HTTP status codes. */
export const RETRY_ON_POLICIES: ReadonlySet<string> = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
])

/** gRPC status names, as `fault.abort.grpcStatus` takes them. */
export const GRPC_STATUS_CODES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
]

const CORS_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  '*',
])
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status'])
const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/

function hasValue(v: unknown): boolean {
  return v !== undefined && v !== null
}

function checkStringMatch(
  ctx: RuleContext,
  path: PathSegment[],
  match: StringMatch | undefined,
  allowEmptyPrefix = false,
) {
  if (!match) return
  if (match.prefix === '' && !allowEmptyPrefix)
    ctx.error([...path, 'prefix'], 'prefix string match should not be empty')
  if (match.regex === '') ctx.error([...path, 'regex'], 'regex string match should not be empty')
  else checkRegexLimited(ctx, [...path, 'regex'], match.regex)
}

function checkRegexLimited(ctx: RuleContext, path: PathSegment[], regex: string | undefined) {
  if (regex === undefined) return
  if (regex.length > 1024) ctx.error(path, 'regex is too large, max length allowed is 1024')
  else checkRegex(ctx, path, regex)
}

function checkMatch(ctx: RuleContext, path: PathSegment[], match: HTTPMatch) {
  checkStringMatch(ctx, [...path, 'uri'], match.uri, true)
  for (const field of ['scheme', 'method', 'authority'] as const)
    checkStringMatch(ctx, [...path, field], match[field])
  for (const field of ['headers', 'withoutHeaders'] as const) {
    for (const [name, value] of Object.entries(match[field] ?? {})) {
      const at = [...path, field, name]
      if (!PSEUDO_HEADERS.has(name) && !name.startsWith('@request.auth.claims'))
        checkHeaderName(ctx, at, name)
      if (!hasValue(value)) ctx.error(at, `header match ${name} cannot be null`)
      else if (field === 'withoutHeaders' && value.regex === '*') continue
      else checkStringMatch(ctx, at, value)
    }
  }
  for (const [name, value] of Object.entries(match.queryParams ?? {}))
    checkStringMatch(ctx, [...path, 'queryParams', name], value)
  checkPort(ctx, [...path, 'port'], match.port)
  checkLabels(ctx, [...path, 'sourceLabels'], match.sourceLabels)
  if (match.sourceNamespace !== undefined && !DNS1123_LABEL.test(match.sourceNamespace)) {
    ctx.error([...path, 'sourceNamespace'], `sourceNamespace match ${match.sourceNamespace} is invalid`)
  }
}

// Runs four times for every route of every changed VirtualService an SDK applies: loops, and a
// path built only for an error, rather than arrays of every header's path.
function checkHeaderOperations(
  ctx: RuleContext,
  path: PathSegment[],
  ops: HeaderOperations | undefined,
  request: boolean,
) {
  if (!ops) return
  for (const field of ['set', 'add'] as const) {
    const headers = ops[field]
    if (headers) for (const name in headers) checkOperationName(ctx, path, field, name, name, true, request)
  }
  const remove = ops.remove ?? []
  for (let i = 0; i < remove.length; i++)
    checkOperationName(ctx, path, 'remove', i, remove[i] as string, false, request)
  for (const field of ['set', 'add'] as const) {
    const headers = ops[field]
    if (!headers) continue
    for (const name in headers) {
      const value = headers[name] as string
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
      if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value))
        ctx.error([...path, field, name], `header value configuration ${JSON.stringify(value)} is invalid`)
    }
  }
}

/** The name of one header a route sets, adds (`writes`) or removes, at `path`.`field`.`key`. */
function checkOperationName(
  ctx: RuleContext,
  path: PathSegment[],
  field: 'set' | 'add' | 'remove',
  key: string | number,
  name: string,
  writes: boolean,
  request: boolean,
) {
  const lower = name.toLowerCase()
  let problem: string | undefined
  if (name === '') problem = 'header name cannot be empty'
  else if (request && writes && (lower === ':authority' || lower === 'host')) return
  else if (lower === 'host') problem = `invalid header "${name}": cannot set Host header`
  else if (name.startsWith(':')) problem = `invalid header "${name}": header cannot have ":" prefix`
  else if (!isHeaderName(name)) problem = `header name ${name} is not a valid header name`
  if (problem !== undefined) ctx.error([...path, field, key], problem)
}

function checkDestination(
  ctx: RuleContext,
  path: PathSegment[],
  destination: { host: string; subset?: string; port?: { number?: number } } | undefined,
) {
  if (!destination) return
  const { host } = destination
  if (host === '*') ctx.error([...path, 'host'], `invalid destination host ${host}`)
  else if (!isIP(host)) checkHost(ctx, [...path, 'host'], host)
  if (destination.subset !== undefined) {
    if (destination.subset === '') ctx.error([...path, 'subset'], 'subset name cannot be empty')
    else if (!DNS1123_LABEL.test(destination.subset) || destination.subset.length > 63) {
      ctx.error([...path, 'subset'], `subset name is invalid: ${destination.subset}`)
    }
  }
  const port = destination.port?.number
  if (port !== undefined && !(port >= 1 && port <= 65535)) {
    ctx.error([...path, 'port', 'number'], `port number ${port} must be in the range 1..65535`)
  }
}

function checkWeights(ctx: RuleContext, path: PathSegment[], routes: Array<{ weight?: number }>) {
  let total = 0
  routes.forEach((route, i) => {
    const weight = route.weight ?? 0
    if (weight < 0) ctx.error([...path, i, 'weight'], `weight ${weight} < 0`)
    total += Math.max(0, weight)
  })
  // Weights are relative (a destination gets weight/sum); only "all zero" is meaningless.
  if (routes.length > 1 && total === 0) ctx.error(path, 'total destination weight = 0')
}

function checkRetries(ctx: RuleContext, path: PathSegment[], retries: HTTPRoute['retries']) {
  if (!retries) return
  const attempts = retries.attempts ?? 0
  if (attempts < 0) ctx.error([...path, 'attempts'], 'attempts cannot be negative')
  if (
    attempts === 0 &&
    (retries.perTryTimeout || retries.retryOn || hasValue(retries.retryRemoteLocalities))
  ) {
    ctx.error(path, 'http retry policy configured when attempts are set to 0 (disabled)')
  }
  if (retries.retryOn !== undefined) {
    for (const policy of retries.retryOn.split(',')) {
      const status = /^\d{3}$/.test(policy) ? Number(policy) : 0
      if (!RETRY_ON_POLICIES.has(policy) && !(status >= 100 && status <= 599)) {
        ctx.error([...path, 'retryOn'], `"${policy}" is not a valid retryOn policy`)
      }
    }
  }
}

function checkFault(ctx: RuleContext, path: PathSegment[], fault: HTTPRoute['fault']) {
  if (!fault) return
  if (!fault.abort && !fault.delay) ctx.error(path, 'HTTP fault injection must have an abort and/or a delay')
  const checkFaultPercent = (at: PathSegment[], value: number | undefined) => {
    if (value === undefined) return
    if (!(value === 0 || (value >= 0.0001 && value <= 100))) {
      ctx.error(at, `percentage ${value} is neither 0.0, nor in range [0.0001, 100.0]`)
    }
  }
  const { abort, delay } = fault
  if (abort) {
    checkFaultPercent([...path, 'abort', 'percentage', 'value'], abort.percentage?.value)
    if (abort.httpStatus !== undefined && !(abort.httpStatus >= 200 && abort.httpStatus <= 599)) {
      ctx.error([...path, 'abort', 'httpStatus'], `HTTP status ${abort.httpStatus} is not in range 200-599`)
    }
    if (abort.grpcStatus !== undefined && !GRPC_STATUS_CODES.includes(abort.grpcStatus)) {
      ctx.error(
        [...path, 'abort', 'grpcStatus'],
        `gRPC status "${abort.grpcStatus}" is not supported; use one of the names in https://github.com/grpc/grpc/blob/master/doc/statuscodes.md, for example 'NOT_FOUND'`,
      )
    }
    if (abort.http2Error !== undefined)
      ctx.error([...path, 'abort', 'http2Error'], 'HTTP/2 abort fault injection not supported yet')
    if (abort.httpStatus === undefined && abort.grpcStatus === undefined && abort.http2Error === undefined) {
      ctx.warn([...path, 'abort'], 'abort configured, but error type not set')
    }
  }
  if (delay) {
    checkFaultPercent([...path, 'delay', 'percentage', 'value'], delay.percentage?.value)
    if (delay.exponentialDelay !== undefined)
      ctx.error([...path, 'delay', 'exponentialDelay'], 'exponentialDelay not supported yet')
  }
}

function checkRedirect(ctx: RuleContext, path: PathSegment[], route: HTTPRoute) {
  const redirect = route.redirect
  if (!redirect) return
  if (redirect.uri !== undefined && redirect.uri !== '' && redirect.prefixRewrite !== undefined) {
    ctx.error(path, 'redirect may only specify one of uri or prefix_rewrite')
  }
  if (
    redirect.prefixRewrite !== undefined &&
    (route.match ?? []).some((m) => m.uri !== undefined && m.uri.prefix === undefined)
  ) {
    ctx.error(
      [...path, 'prefixRewrite'],
      'redirect prefix_rewrite requires all URI matches to use prefix match type',
    )
  }
  if (
    !redirect.uri &&
    redirect.prefixRewrite === undefined &&
    !redirect.authority &&
    !redirect.scheme &&
    redirect.port === undefined &&
    redirect.derivePort === undefined
  ) {
    ctx.error(path, 'redirect must specify URI, authority, scheme, or port')
  }
  const code = redirect.redirectCode
  if (code !== undefined && !(code >= 300 && code <= 399)) {
    ctx.error([...path, 'redirectCode'], `${code} is not a valid redirect code, must be 3xx`)
  }
  if (redirect.scheme !== undefined && redirect.scheme !== 'http' && redirect.scheme !== 'https') {
    ctx.error([...path, 'scheme'], 'invalid redirect scheme, must be "http" or "https"')
  }
  checkPort(ctx, [...path, 'port'], redirect.port)
}

function checkRewrite(ctx: RuleContext, path: PathSegment[], route: HTTPRoute) {
  const rewrite = route.rewrite
  if (!rewrite) return
  const { uri, uriRegexRewrite, authority } = rewrite
  if (uri !== undefined && uriRegexRewrite !== undefined)
    ctx.error(path, 'rewrite may only contain one of URI or UriRegexRewrite')
  if (uri === undefined && uriRegexRewrite === undefined && authority === undefined) {
    ctx.error(path, 'rewrite must specify at least one of URI, UriRegexRewrite, or authority')
  }
  if (uriRegexRewrite) {
    if (uriRegexRewrite.match === undefined || uriRegexRewrite.rewrite === undefined) {
      ctx.error(
        [...path, 'uriRegexRewrite'],
        'UriRegexRewrite requires both Rewrite and Match fields to be specified',
      )
    }
    checkRegexLimited(ctx, [...path, 'uriRegexRewrite', 'match'], uriRegexRewrite.match)
  }
  if (authority !== undefined) {
    const setsAuthority = Object.keys({
      ...route.headers?.request?.set,
      ...route.headers?.request?.add,
    }).find((h) => [':authority', 'host'].includes(h.toLowerCase()))
    if (setsAuthority) {
      ctx.error(
        [...path, 'authority'],
        `authority header cannot be set multiple times: have "${authority}", attempting to set "${setsAuthority}"`,
      )
    }
  }
}

function checkMirrors(ctx: RuleContext, path: PathSegment[], route: HTTPRoute) {
  if (route.mirror && route.mirrors) ctx.error(path, 'HTTP route cannot contain both mirror and mirrors')
  if (route.mirror) checkDestination(ctx, [...path, 'mirror'], route.mirror)
  const pct = route.mirrorPercentage?.value
  if (pct !== undefined && pct > 100)
    ctx.error(
      [...path, 'mirrorPercentage', 'value'],
      `mirror_percentage must have a max value of 100 (it has ${pct})`,
    )
  if (pct !== undefined && pct < 0)
    ctx.error(
      [...path, 'mirrorPercentage', 'value'],
      `mirror_percentage must have a min value of 0 (it has ${pct})`,
    )
  const legacy = route.mirrorPercent ?? route.mirror_percent
  if (legacy !== undefined && legacy !== null) {
    const field = route.mirrorPercent !== undefined ? 'mirrorPercent' : 'mirror_percent'
    if (legacy > 100)
      ctx.error([...path, field], `mirror_percent must have a max value of 100 (it has ${legacy})`)
    ctx.warn([...path, field], 'using deprecated setting "mirrorPercent", use "mirrorPercentage" instead')
  }
  ;(route.mirrors ?? []).forEach((mirror, i) => {
    checkDestination(ctx, [...path, 'mirrors', i, 'destination'], mirror.destination)
    const p = mirror.percentage?.value
    if (p !== undefined && (p < 0 || p > 100))
      ctx.error(
        [...path, 'mirrors', i, 'percentage', 'value'],
        `mirror percentage must be in [0, 100] (it has ${p})`,
      )
  })
}

function checkCors(ctx: RuleContext, path: PathSegment[], cors: HTTPRoute['corsPolicy']) {
  if (!cors) return
  ;(cors.allowOrigins ?? []).forEach((origin, i) => {
    const at = [...path, 'allowOrigins', i]
    if (
      origin.exact === '' ||
      origin.prefix === '' ||
      origin.regex === '' ||
      Object.keys(origin).length === 0
    ) {
      ctx.error(at, `'${JSON.stringify(origin)}' is not a valid match type for CORS allow origins`)
    }
    checkRegexLimited(ctx, [...at, 'regex'], origin.regex || undefined)
  })
  ;(cors.allowMethods ?? []).forEach((method, i) => {
    if (!CORS_METHODS.has(method))
      ctx.error([...path, 'allowMethods', i], `"${method}" is not a supported HTTP method`)
  })
  for (const field of ['allowHeaders', 'exposeHeaders'] as const) {
    ;(cors[field] ?? []).forEach((name, i) => {
      if (name !== '*') checkHeaderName(ctx, [...path, field, i], name)
    })
  }
  if (cors.maxAge !== undefined && !/^(?:\d+(?:s|m|h))+$/.test(cors.maxAge)) {
    ctx.error([...path, 'maxAge'], 'max_age duration is accurate only to seconds precision')
  }
}

function checkHttpRoute(ctx: RuleContext, path: PathSegment[], route: HTTPRoute, delegate: boolean) {
  const routes = route.route ?? []
  const has = {
    route: routes.length > 0,
    redirect: hasValue(route.redirect),
    direct: hasValue(route.directResponse),
  }
  if (has.redirect) {
    if (has.route) ctx.error(path, 'HTTP route cannot contain both route and redirect')
    if (route.fault) ctx.error(path, 'HTTP route cannot contain both fault and redirect')
    if (route.rewrite) ctx.error(path, 'HTTP route rule cannot contain both rewrite and redirect')
    if (has.direct) ctx.error(path, 'HTTP route rule cannot contain both direct_response and redirect')
  } else if (has.direct) {
    if (has.route) ctx.error(path, 'HTTP route cannot contain both route and direct_response')
    if (route.fault) ctx.error(path, 'HTTP route cannot contain both fault and direct_response')
    if (route.rewrite) ctx.error(path, 'HTTP route rule cannot contain both rewrite and direct_response')
  } else if (!has.route && !route.delegate) {
    ctx.error(path, 'HTTP route, redirect or direct_response is required')
  }
  if (route.delegate) {
    if (delegate) ctx.error([...path, 'delegate'], 'delegate HTTP route cannot contain delegate')
    if (has.redirect) ctx.error(path, `root HTTP route ${route.name ?? ''} must not specify redirect`)
    if (has.route) ctx.error(path, `root HTTP route ${route.name ?? ''} must not specify route`)
  }
  ;(route.match ?? []).forEach((match, i) => {
    checkMatch(ctx, [...path, 'match', i], match)
  })
  routes.forEach((dest, i) => {
    checkDestination(ctx, [...path, 'route', i, 'destination'], dest.destination)
    checkHeaderOperations(ctx, [...path, 'route', i, 'headers', 'request'], dest.headers?.request, true)
    checkHeaderOperations(ctx, [...path, 'route', i, 'headers', 'response'], dest.headers?.response, false)
  })
  checkWeights(ctx, [...path, 'route'], routes)
  checkHeaderOperations(ctx, [...path, 'headers', 'request'], route.headers?.request, true)
  checkHeaderOperations(ctx, [...path, 'headers', 'response'], route.headers?.response, false)
  checkRedirect(ctx, [...path, 'redirect'], route)
  checkRewrite(ctx, [...path, 'rewrite'], route)
  checkMirrors(ctx, path, route)
  checkRetries(ctx, [...path, 'retries'], route.retries)
  checkFault(ctx, [...path, 'fault'], route.fault)
  checkCors(ctx, [...path, 'corsPolicy'], route.corsPolicy)
  const status = route.directResponse?.status
  if (status !== undefined && !(status >= 200 && status <= 599)) {
    ctx.error([...path, 'directResponse', 'status'], `HTTP status ${status} is not in range 200-599`)
  }
  const body = route.directResponse?.body
  const size = body?.string?.length ?? Math.floor(((body?.bytes?.length ?? 0) * 3) / 4)
  if (size > 1024 * 1024)
    ctx.error(
      [...path, 'directResponse', 'body'],
      'large direct_responses may impact control plane performance, must be less than 1MB',
    )
  else if (size > 100 * 1024)
    ctx.warn(
      [...path, 'directResponse', 'body'],
      'large direct_responses may impact control plane performance',
    )
}

function checkGatewayName(ctx: RuleContext, path: PathSegment[], name: string) {
  if (name === 'mesh') return
  const parts = name.split('/')
  if (parts.length > 2 || parts.some((p) => p === '')) {
    ctx.error(path, 'config namespace and gateway name cannot be empty')
    return
  }
  const [ns, gw] = parts.length === 2 ? parts : [undefined, parts[0]]
  if (ns !== undefined && ns !== '*' && !DNS1123_LABEL.test(ns))
    ctx.error(path, `invalid value for namespace: "${ns}"`)
  if (gw !== undefined && hostProblem(gw, false)) ctx.error(path, `invalid value for gateway name: "${gw}"`)
}

export function virtualServiceRules(spec: VirtualServiceSpec, ctx: RuleContext, resource: Resource): void {
  const hosts = spec.hosts ?? []
  const gateways = spec.gateways ?? []
  const delegate = hosts.length === 0
  const meshBound = gateways.length === 0 || gateways.includes('mesh')
  if (delegate) {
    if (gateways.length > 0)
      ctx.error(['gateways'], 'delegate virtual service must have no gateways specified')
    if (spec.tls?.length) ctx.error(['tls'], 'delegate virtual service must have no tls route specified')
    if (spec.tcp?.length) ctx.error(['tcp'], 'delegate virtual service must have no tcp route specified')
  }
  const seen: string[] = []
  hosts.forEach((host, i) => {
    if (host === '*' && meshBound) {
      ctx.error(['hosts', i], 'wildcard host * is not allowed for virtual services bound to the mesh gateway')
    } else if (!isIP(host)) {
      checkHost(ctx, ['hosts', i], host)
    }
    const clash = seen.find((h) => h === host)
    if (clash) ctx.error(['hosts', i], `duplicate hosts in virtual service: ${clash} & ${host}`)
    seen.push(host)
  })
  gateways.forEach((name, i) => {
    checkGatewayName(ctx, ['gateways', i], name)
  })
  checkExportTo(ctx, spec.exportTo, resource.metadata.namespace)
  if (!spec.http?.length && !spec.tcp?.length && !spec.tls?.length) {
    ctx.error([], 'http, tcp or tls must be provided in virtual service')
  }
  ;(spec.http ?? []).forEach((route, i) => {
    if (!hasValue(route)) ctx.error(['http', i], 'http route may not be null')
    else checkHttpRoute(ctx, ['http', i], route, delegate)
  })
  ;(spec.tcp ?? []).forEach((route, i) => {
    if (!route.route?.length) ctx.error(['tcp', i], 'TCP route is required')
    route.route?.forEach((d, j) => {
      checkDestination(ctx, ['tcp', i, 'route', j, 'destination'], d.destination)
    })
    checkWeights(ctx, ['tcp', i, 'route'], route.route ?? [])
  })
  ;(spec.tls ?? []).forEach((route, i) => {
    if (!route.match?.length) ctx.error(['tls', i], 'TLS route must have at least one match condition')
    if (!route.route?.length) ctx.error(['tls', i], 'TLS route is required')
    route.match?.forEach((m, j) => {
      if (!m.sniHosts?.length) ctx.error(['tls', i, 'match', j], 'TLS match must have at least one SNI host')
    })
    route.route?.forEach((d, j) => {
      checkDestination(ctx, ['tls', i, 'route', j, 'destination'], d.destination)
    })
  })
}
