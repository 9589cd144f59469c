import type { Snapshot } from '@weft/config'
import {
  consistentHashKey,
  createRetryBackoff,
  endpointKey,
  hashKey,
  type MirrorTarget,
  type RouteDecision,
  type RouteSource,
  routeRequest,
} from '@weft/core'
import type { Dispatcher } from 'undici'
import { CallerAbort } from './caller-abort.js'
import { type Cluster, ClusterRegistry } from './cluster.js'
import { type Headers, headerRecord, single } from './headers.js'
import { asLegacyHandler, type LegacyHandler } from './legacy-handler.js'
import { respondLocally } from './local-response.js'
import { MeshRequest } from './mesh-request.js'
import { isReplayable } from './request-body.js'
import { type OutboundRequestEvent, type OutboundRequestHook, report } from './request-event.js'
import { type OutboundRequestObserver, type OutboundTelemetry, observe } from './request-observer.js'
import { RESPONSE_FLAGS_HEADER, ResponseFlag } from './response-flags.js'
import type { UpstreamOptions } from './upstream-options.js'

export interface MeshInterceptorOptions {
  /** The snapshot in force; read on every request, so a new one applies to the next request. */
  readonly snapshot: () => Snapshot
  /** The calling workload: its namespace resolves short host names, its labels match `sourceLabels`. */
  readonly source: RouteSource
  readonly random?: () => number
  readonly now?: () => number
  /** Called once per request when it is over. */
  readonly onRequestEnd?: OutboundRequestHook
  /** `@weft/telemetry`'s outbound side: spans, trace-context headers, metrics, access log. */
  readonly telemetry?: OutboundTelemetry
  /** Where the clusters leave each endpoint's connection-pool settings for the Agent underneath. */
  readonly upstreams?: UpstreamOptions
}

/** Scheme and host of the origin the caller addressed; a string origin is split without a URL parse. */
function origin(opts: Dispatcher.DispatchOptions): { scheme: string; host: string } {
  const o = opts.origin
  if (typeof o === 'string') {
    const sep = o.indexOf('://')
    const rest = o.slice(sep + 3)
    const slash = rest.indexOf('/')
    return { scheme: o.slice(0, sep), host: slash < 0 ? rest : rest.slice(0, slash) }
  }
  const url = o as URL
  return { scheme: url.protocol.slice(0, -1), host: url.host }
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

const NO_HASH: { readonly hash: undefined; readonly setCookie: undefined } = Object.freeze({
  hash: undefined,
  setCookie: undefined,
})

function consistentHash(
  cluster: Cluster,
  headers: Headers,
  path: string,
  random: () => number,
): { readonly hash: number | undefined; readonly setCookie: string | undefined } {
  if (!cluster.consistentHash) return NO_HASH
  const key = consistentHashKey(cluster.consistentHash, hashInput(headers, path), random)
  const c = key.setCookie
  return {
    hash: key.key === undefined ? undefined : hashKey(key.key),
    setCookie: c
      ? `${c.name}=${c.value}; Max-Age=${c.ttlSeconds}${c.path ? `; Path=${c.path}` : ''}; HttpOnly`
      : undefined,
  }
}

/** The body size known before sending: a string or buffer body, else a declared content-length. */
function bodyBytes(body: Dispatcher.DispatchOptions['body'], headers: Headers): number {
  if (typeof body === 'string') return Buffer.byteLength(body)
  if (body instanceof Uint8Array) return body.byteLength
  const declared = Number(single(headers['content-length']))
  return Number.isFinite(declared) && declared > 0 ? declared : 0
}

function startObserver(
  telemetry: OutboundTelemetry,
  opts: Dispatcher.DispatchOptions,
  headers: Headers,
  scheme: string,
  authority: string,
): OutboundRequestObserver | undefined {
  return observe(() =>
    telemetry.start({
      protocol: 'http',
      method: opts.method,
      scheme,
      authority,
      path: opts.path,
      header: (name) => single(headers[name]),
      requestBytes: bodyBytes(opts.body, headers),
    }),
  )
}

interface LocalAnswer {
  status: number
  headers: Record<string, string>
  body: string
  flag: string
}

/** Decisions the mesh answers itself, as Envoy answers them without an upstream. */
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
      if (decision.fault.abort) {
        const flag =
          decision.fault.delayMs > 0
            ? `${ResponseFlag.delayInjected},${ResponseFlag.faultInjected}`
            : ResponseFlag.faultInjected
        return {
          status: decision.fault.abort.httpStatus ?? 500,
          headers: {},
          body: 'fault filter abort',
          flag,
        }
      }
      return undefined
  }
}

/** Reports the end of a request no upstream saw: answered by the mesh, or aborted by the caller first. */
function reportUnsent(
  onRequestEnd: OutboundRequestHook | undefined,
  observer: OutboundRequestObserver | undefined,
  decision: RouteDecision,
  status: number | undefined,
  flags: string[],
  error: Error | undefined,
  responseBytes: number,
): void {
  if (!onRequestEnd && !observer) return
  const event: OutboundRequestEvent = {
    host: decision.host,
    rule: 'rule' in decision ? decision.rule : undefined,
    target: undefined,
    endpoint: undefined,
    status,
    flags,
    attempts: 0,
    durationMs: 0,
    error,
    responseBytes,
  }
  report(onRequestEnd, event)
  if (observer) observe(() => observer.end(event))
}

/**
 * The mesh as an undici interceptor: each request is routed by the snapshot (`@weft/core`
 * decides), and either answered locally (direct response, redirect, injected abort, no route)
 * or handed to a MeshRequest, which balances, retries and times it out as Envoy's router does.
 */
export function meshInterceptor(options: MeshInterceptorOptions): Dispatcher.DispatchInterceptor {
  const random = options.random ?? Math.random
  const now = options.now ?? Date.now
  const telemetry = options.telemetry
  const clusters = new ClusterRegistry(options.upstreams, telemetry)
  const backoff = createRetryBackoff()

  return (dispatch) => {
    /**
     * Envoy's shadowing: a copy to the mirror destination, `-shadow` on the authority, answer
     * discarded. It never delays or changes the main response; a body that cannot be replayed
     * (a stream) is not mirrored.
     */
    function sendMirror(
      mirror: MirrorTarget,
      path: string,
      opts: Dispatcher.DispatchOptions,
      headers: Headers,
      scheme: string,
    ) {
      if (!isReplayable(opts.body)) return
      const snapshot = options.snapshot()
      const cluster = clusters.get(snapshot, mirror, options.source, random, now())
      const endpoint = cluster.passthrough ? undefined : cluster.pick(undefined, now())
      if (!cluster.passthrough && !endpoint) return
      const origin = `${scheme}://${endpoint ? endpointKey(endpoint) : `${mirror.host}:${mirror.port}`}`
      try {
        dispatch(
          {
            ...opts,
            origin,
            path,
            headers: { ...headers, host: mirror.authority },
          },
          DISCARD,
        )
      } catch {
        // A mirror must never fail the request it copies.
      }
    }

    return function weftMesh(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const caller = asLegacyHandler(handler)
      const cancel = new CallerAbort()
      const url = origin(opts)
      const headers = headerRecord(opts.headers)
      const scheme = url.scheme === 'https' ? 'https' : 'http'
      const authority = single(headers.host) ?? url.host
      // Started before routing, so that the CLIENT span covers the whole call, delays included.
      const observer = telemetry && startObserver(telemetry, opts, headers, scheme, authority)
      const snapshot = options.snapshot()
      const decision = routeRequest(
        snapshot,
        {
          method: opts.method,
          scheme,
          authority,
          path: opts.path,
          header: (name) => single(headers[name]),
          source: options.source,
        },
        random,
      )
      const delayMs = decision.kind === 'forward' ? decision.fault.delayMs : 0
      // Before an upstream saw it, an aborted request is over: reported, and the caller told.
      const abortedBeforeStart = (reason: Error) => {
        const flags = delayMs > 0 ? [ResponseFlag.delayInjected] : []
        reportUnsent(options.onRequestEnd, observer, decision, undefined, flags, reason, 0)
        caller.onError(reason)
      }
      const start = () => {
        if (cancel.reason) {
          abortedBeforeStart(cancel.reason)
          return
        }
        const local = answerLocally(decision)
        if (local || decision.kind !== 'forward') {
          const answer = local as LocalAnswer
          respondLocally(
            caller,
            cancel,
            answer.status,
            { ...answer.headers, [RESPONSE_FLAGS_HEADER]: answer.flag },
            answer.body,
          )
          const flags = answer.flag.split(',')
          const bytes = Buffer.byteLength(answer.body)
          reportUnsent(options.onRequestEnd, observer, decision, answer.status, flags, undefined, bytes)
          return
        }
        const cluster = clusters.get(snapshot, decision.target, options.source, random, now())
        const { hash, setCookie } = consistentHash(cluster, headers, decision.path, random)
        new MeshRequest(
          {
            dispatch,
            opts,
            headers,
            scheme,
            decision,
            cluster,
            hash,
            setCookie,
            backoff,
            random,
            now,
            onRequestEnd: options.onRequestEnd,
            observer,
            telemetry,
            cancel,
          },
          caller,
        ).start()
        for (const mirror of decision.mirrors) sendMirror(mirror, decision.path, opts, headers, scheme)
      }
      // The caller gets its abort function before the request waits or goes anywhere, so that
      // an abort during an injected delay ends the request then, not when the delay is over.
      caller.onConnect(cancel.abort)
      if (delayMs > 0 && !cancel.reason) {
        // An injected delay holds the request before anything else, as Envoy's fault filter does.
        const timer = setTimeout(start, delayMs)
        cancel.listen((reason) => {
          clearTimeout(timer)
          abortedBeforeStart(reason)
        })
      } else start()
      return true
    }
  }
}

const DISCARD: LegacyHandler = {
  onConnect() {},
  onHeaders: () => true,
  onData: () => true,
  onComplete() {},
  onError() {},
}
