import type { HeaderOperations, Snapshot } from '@weft/config'
import {
  consistentHashKey,
  endpointKey,
  hashKey,
  type RouteDecision,
  type RouteSource,
  routeRequest,
  type UpstreamOutcome,
} from '@weft/core'
import type { Dispatcher } from 'undici'
import { ClusterRegistry } from './cluster.js'
import { respondLocally } from './local-response.js'
import { RESPONSE_FLAGS_HEADER, ResponseFlag } from './response-flags.js'

export interface MeshInterceptorOptions {
  /** The snapshot in force; read on every request, so a new one applies to the next request. */
  readonly snapshot: () => Snapshot
  /** The calling workload: its namespace resolves short host names, its labels match `sourceLabels`. */
  readonly source: RouteSource
  readonly random?: () => number
  readonly now?: () => number
}

type Headers = Record<string, string | string[]>

function headerRecord(headers: Dispatcher.DispatchOptions['headers']): Headers {
  const out: Headers = {}
  if (!headers) return out
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2)
      add(out, String(headers[i]), headers[i + 1] as string | string[])
  } else if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of headers as Iterable<[string, string | string[]]>) add(out, name, value)
  } else {
    for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
      if (value !== undefined) add(out, name, value)
    }
  }
  return out
}

function add(out: Headers, name: string, value: string | string[]): void {
  const key = name.toLowerCase()
  const existing = out[key]
  out[key] = existing === undefined ? value : ([] as string[]).concat(existing, value)
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value
}

function applyOperations(headers: Headers, operations: readonly HeaderOperations[]): void {
  for (const ops of operations) {
    for (const name of ops.remove) delete headers[name]
    for (const [name, value] of ops.set) headers[name] = value
    for (const [name, value] of ops.add) add(headers, name, value)
  }
}

function origin(opts: Dispatcher.DispatchOptions): URL {
  return typeof opts.origin === 'string' ? new URL(opts.origin) : (opts.origin as URL)
}

/** What a consistent-hash policy may read from an outgoing request. */
function hashInput(headers: Headers, path: string) {
  let cookies: Map<string, string> | undefined
  let query: URLSearchParams | undefined
  return {
    header: (name: string) => single(headers[name]),
    cookie(name: string) {
      cookies ??= new Map(
        (single(headers.cookie) ?? '')
          .split(';')
          .map((part) => part.trim().split('=') as [string, string])
          .filter(([k, v]) => k && v !== undefined),
      )
      return cookies.get(name)
    },
    query(name: string) {
      query ??= new URLSearchParams(path.includes('?') ? path.slice(path.indexOf('?') + 1) : '')
      return query.get(name) ?? undefined
    },
  }
}

/** Why an upstream attempt failed, in outlier detection's terms. */
function outcomeOf(error: Error): UpstreamOutcome {
  const code = (error as { code?: string }).code
  if (
    code === 'ECONNREFUSED' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH'
  ) {
    return { kind: 'connect-failure' }
  }
  return { kind: 'reset' }
}

/**
 * The mesh as an undici interceptor: each request is routed by the snapshot (`@weft/core`
 * decides), sent to an endpoint the destination's balancer picks, and its outcome fed back to
 * outlier detection. What the mesh answers itself — direct responses, redirects, injected
 * aborts, no route, no healthy upstream — never reaches a socket.
 */
export function meshInterceptor(options: MeshInterceptorOptions): Dispatcher.DispatchInterceptor {
  const random = options.random ?? Math.random
  const now = options.now ?? Date.now
  const clusters = new ClusterRegistry()

  return (dispatch) => {
    return function weftMesh(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const url = origin(opts)
      const headers = headerRecord(opts.headers)
      const scheme = url.protocol === 'https:' ? 'https' : 'http'
      const decision = routeRequest(
        options.snapshot(),
        {
          method: opts.method,
          scheme,
          authority: single(headers.host) ?? url.host,
          path: opts.path,
          header: (name) => single(headers[name]),
          source: options.source,
        },
        random,
      )
      const local = answerLocally(decision)
      if (local) {
        respondLocally(
          handler,
          local.status,
          { ...local.headers, [RESPONSE_FLAGS_HEADER]: local.flag },
          local.body,
        )
        return true
      }
      if (decision.kind !== 'forward') return true
      const forward = () => send(decision, opts, headers, scheme, handler)
      if (decision.fault.delayMs > 0) {
        setTimeout(forward, decision.fault.delayMs)
        return true
      }
      return forward()
    }

    function send(
      decision: Extract<RouteDecision, { kind: 'forward' }>,
      opts: Dispatcher.DispatchOptions,
      headers: Headers,
      scheme: string,
      handler: Dispatcher.DispatchHandler,
    ): boolean {
      const flags: string[] = decision.fault.delayMs > 0 ? [ResponseFlag.delayInjected] : []
      const abort = decision.fault.abort
      if (abort) {
        flags.push(ResponseFlag.faultInjected)
        respondLocally(
          handler,
          abort.httpStatus ?? 500,
          { [RESPONSE_FLAGS_HEADER]: flags.join(',') },
          'fault filter abort',
        )
        return true
      }
      const nowMs = now()
      const cluster = clusters.get(
        options.snapshot(),
        decision.target,
        options.source.namespace,
        random,
        nowMs,
      )
      let setCookie: string | undefined
      let hash: number | undefined
      if (cluster.consistentHash) {
        const key = consistentHashKey(cluster.consistentHash, hashInput(headers, decision.path), random)
        if (key.key !== undefined) hash = hashKey(key.key)
        if (key.setCookie) {
          const c = key.setCookie
          setCookie = `${c.name}=${c.value}; Max-Age=${c.ttlSeconds}${c.path ? `; Path=${c.path}` : ''}; HttpOnly`
        }
      }
      const picked = cluster.passthrough ? 'passthrough' : (cluster.pick(hash, nowMs) ?? 'none')
      if (picked === 'none') {
        flags.push(ResponseFlag.noHealthyUpstream)
        respondLocally(handler, 503, { [RESPONSE_FLAGS_HEADER]: flags.join(',') }, 'no healthy upstream')
        return true
      }
      const outgoing: Headers = { ...headers, host: decision.authority }
      applyOperations(outgoing, decision.requestHeaders)
      const target =
        picked === 'passthrough'
          ? `${scheme}://${decision.target.host}:${decision.target.port}`
          : `${scheme}://${picked.address.includes(':') ? `[${picked.address}]` : picked.address}:${picked.port}`
      const index = picked === 'passthrough' ? -1 : cluster.endpoints.indexOf(picked)
      if (index >= 0) cluster.active[index] = (cluster.active[index] ?? 0) + 1
      const done = (outcome: UpstreamOutcome | undefined) => {
        if (index >= 0) cluster.active[index] = Math.max(0, (cluster.active[index] ?? 1) - 1)
        if (outcome && picked !== 'passthrough' && cluster.outlier)
          cluster.outlier.record(endpointKey(picked), outcome, now())
      }
      return dispatch(
        { ...opts, origin: target, path: decision.path, headers: outgoing },
        observe(handler, decision.responseHeaders, flags, setCookie, done),
      )
    }
  }
}

interface LocalAnswer {
  status: number
  headers: Record<string, string>
  body: string
  flag: string
}

function answerLocally(decision: RouteDecision): LocalAnswer | undefined {
  switch (decision.kind) {
    case 'redirect':
      return {
        status: decision.status,
        headers: { location: decision.location },
        body: '',
        flag: ResponseFlag.directResponse,
      }
    case 'direct-response':
      return {
        status: decision.status,
        headers: {},
        body: decision.body ?? '',
        flag: ResponseFlag.directResponse,
      }
    case 'no-route':
      return { status: 404, headers: {}, body: '', flag: ResponseFlag.noRoute }
    case 'blackhole':
      return { status: 502, headers: {}, body: '', flag: ResponseFlag.blackhole }
    case 'forward':
      return undefined
  }
}

/** Passes the response through, applying response header operations and reporting the outcome once. */
function observe(
  handler: Dispatcher.DispatchHandler,
  operations: readonly HeaderOperations[],
  flags: readonly string[],
  setCookie: string | undefined,
  done: (outcome: UpstreamOutcome | undefined) => void,
): Dispatcher.DispatchHandler {
  let reported = false
  const report = (outcome: UpstreamOutcome | undefined) => {
    if (reported) return
    reported = true
    done(outcome)
  }
  return {
    onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
    onRequestUpgrade: (controller, status, headers, socket) =>
      handler.onRequestUpgrade?.(controller, status, headers, socket),
    onResponseStart(controller, statusCode, headers, statusMessage) {
      report({ kind: 'response', status: statusCode })
      const out = { ...headers } as Headers
      applyOperations(out, operations)
      if (flags.length) out[RESPONSE_FLAGS_HEADER] = flags.join(',')
      if (setCookie) add(out, 'set-cookie', setCookie)
      handler.onResponseStart?.(controller, statusCode, out, statusMessage)
    },
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
    onResponseError(controller, error) {
      report(outcomeOf(error))
      handler.onResponseError?.(controller, error)
    },
  }
}
