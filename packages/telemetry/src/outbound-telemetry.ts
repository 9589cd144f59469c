import { randomUUID } from 'node:crypto'
import { type Context, context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { suppressTracing } from '@opentelemetry/core'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions'
import type { Endpoint } from '@weft/config'
import type { AccessLogEntry } from './access-log-entry.js'
import { NO_FLAGS, PEER_HEADER, requestLabels, UNKNOWN, UNKNOWN_PEER } from './istio-labels.js'
import { currentScope, isUntraced } from './request-scope.js'
import {
  REQUEST_ID_HEADER,
  RPC_GRPC_STATUS_CODE,
  rpcAttributes,
  splitAuthority,
  WEFT_FLAGS,
  WEFT_RULE,
} from './span-attributes.js'
import type { KeyedPeer, ServiceLabels, TelemetryCore } from './telemetry-core.js'
import { injectContext } from './trace-propagation.js'

/** How an outgoing request began (`@weft/client`'s `OutboundRequestStart`). */
export interface OutboundStart {
  readonly protocol: 'http' | 'grpc'
  readonly method: string
  readonly scheme: string
  readonly authority: string
  readonly path: string
  readonly header: (name: string) => string | undefined
  readonly requestBytes: number
}

/** How it ended (`@weft/client`'s `OutboundRequestEvent`). */
export interface OutboundEnd {
  readonly host: string
  readonly rule: string | undefined
  readonly target: { readonly host: string; readonly subset?: string; readonly port: number } | undefined
  readonly endpoint: string | undefined
  readonly destination?: Endpoint
  readonly status: number | undefined
  readonly grpcStatus?: number
  readonly flags: readonly string[]
  readonly attempts: number
  readonly durationMs: number
  readonly error: Error | undefined
  readonly responseBytes?: number
}

export interface OutboundAttemptTelemetry {
  run(send: () => void): void
  end(status: number | undefined, error: Error | undefined): void
}

const PASSTHROUGH_ATTEMPT: OutboundAttemptTelemetry = {
  run: (send) => send(),
  end: () => {},
}

const BLACKHOLE: ServiceLabels = { id: -1, service: UNKNOWN, name: 'BlackHoleCluster', namespace: UNKNOWN }

/**
 * One outgoing request's telemetry: its CLIENT span (started before routing, so it covers
 * delays and retries), a CLIENT child span per attempt whose context goes out in that attempt's
 * headers, `x-request-id` and Weft's peer header, then Istio's source-side metrics and the
 * access-log line when it ends.
 */
export class OutboundCall {
  readonly #core: TelemetryCore
  readonly #start: OutboundStart
  readonly #startedAt: number
  readonly #requestId: string
  readonly #parent: Context
  readonly #span: Span | undefined
  #spanContext: Context | undefined

  constructor(core: TelemetryCore, start: OutboundStart) {
    this.#core = core
    this.#start = start
    this.#startedAt = core.now()
    const scope = currentScope()
    this.#requestId = start.header(REQUEST_ID_HEADER) ?? scope?.requestId ?? randomUUID()
    // The application's active span wins; else the inbound request this call is made for.
    const active = context.active()
    this.#parent = trace.getSpan(active) || !scope ? active : scope.context
    if (core.shouldTrace('source', this.#parent)) {
      const grpc = start.protocol === 'grpc'
      const span = core.startSpan(
        grpc ? start.path.slice(1) : start.method,
        SpanKind.CLIENT,
        this.#parent,
        this.#startedAt,
      )
      if (span.isRecording()) {
        const { host, port } = splitAuthority(start.authority, start.scheme)
        if (grpc) span.setAttributes(rpcAttributes(start.path))
        else {
          span.setAttribute(ATTR_HTTP_REQUEST_METHOD, start.method)
          span.setAttribute(ATTR_URL_FULL, `${start.scheme}://${start.authority}${start.path}`)
        }
        span.setAttribute(ATTR_SERVER_ADDRESS, host)
        if (port !== undefined) span.setAttribute(ATTR_SERVER_PORT, port)
      }
      this.#span = span
    }
  }

  #context(): Context {
    if (!this.#span) return this.#parent
    this.#spanContext ??= trace.setSpan(this.#parent, this.#span)
    return this.#spanContext
  }

  attempt(
    number: number,
    endpoint: Endpoint | undefined,
    headers: Record<string, string | string[]>,
  ): OutboundAttemptTelemetry {
    headers[REQUEST_ID_HEADER] ??= this.#requestId
    // Who is calling is for the mesh's own endpoints; a host outside the mesh is not told.
    if (endpoint) headers[PEER_HEADER] = this.#core.selfHeader
    const span = this.#span
    if (!span) {
      injectContext(this.#parent, headers)
      return PASSTHROUGH_ATTEMPT
    }
    const attempt = this.#core.startSpan(
      this.#start.method,
      SpanKind.CLIENT,
      this.#context(),
      this.#core.now(),
    )
    if (attempt.isRecording()) {
      attempt.setAttribute(ATTR_HTTP_REQUEST_METHOD, this.#start.method)
      if (number > 1) attempt.setAttribute(ATTR_HTTP_REQUEST_RESEND_COUNT, number - 1)
      if (endpoint) {
        attempt.setAttribute('network.peer.address', endpoint.address)
        attempt.setAttribute('network.peer.port', endpoint.port)
      }
    }
    const attemptContext = trace.setSpan(this.#parent, attempt)
    injectContext(attemptContext, headers)
    // The hop below is this attempt: an undici or http instrumentation must not trace it again.
    const quiet = suppressTracing(attemptContext)
    return {
      run: (send) => context.with(quiet, send),
      end: (status, error) => {
        if (status !== undefined) {
          attempt.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status)
          if (status >= 400) {
            attempt.setAttribute(ATTR_ERROR_TYPE, String(status))
            attempt.setStatus({ code: SpanStatusCode.ERROR })
          }
        } else if (error) {
          attempt.setAttribute(ATTR_ERROR_TYPE, error.name)
          attempt.setStatus({ code: SpanStatusCode.ERROR, message: error.message })
        }
        attempt.end(this.#core.now())
      },
    }
  }

  propagate(headers: Record<string, string>): void {
    headers[REQUEST_ID_HEADER] ??= this.#requestId
    headers[PEER_HEADER] = this.#core.selfHeader
    injectContext(this.#context(), headers)
  }

  end(event: OutboundEnd): void {
    const core = this.#core
    const start = this.#start
    const endedAt = core.now()
    const grpc = start.protocol === 'grpc'
    const flags = event.flags.length === 0 ? NO_FLAGS : event.flags.join(',')
    // Envoy logs 0 when no response was sent; a gRPC call rides on HTTP 200.
    const code = event.status ?? (grpc && event.grpcStatus !== undefined ? 200 : 0)
    const target = event.target
    const host = target?.host ?? event.host
    const service = event.flags.includes('NC') ? BLACKHOLE : core.serviceOf(host, target !== undefined)
    const destination = event.destination
      ? core.peerOf(event.destination, service)
      : event.endpoint && target
        ? core.peerByAddress(target.host, event.endpoint, service)
        : undefined
    const responseBytes = event.responseBytes ?? 0
    const cluster = target ? `outbound|${target.port}|${target.subset ?? ''}|${target.host}` : undefined
    if (cluster && event.attempts > 1) core.weft.retried(cluster, event.attempts - 1)

    const policy = core.policy().source
    const grpcStatus = event.grpcStatus === undefined ? '' : String(event.grpcStatus)
    const key = `s${service.id}:${destination?.id ?? 0}:${start.protocol}:${code}:${grpcStatus}:${flags}`
    core.metrics.record(
      policy,
      key,
      () => sourceLabels(core, service, destination, grpc, code, grpcStatus, flags),
      policy.dynamicTags
        ? {
            method: start.method,
            host: start.authority,
            scheme: start.scheme,
            protocol: grpc ? 'HTTP/2' : 'HTTP/1.1',
            header: start.header,
            responseCode: code,
            destinationPort: target?.port,
          }
        : undefined,
      event.durationMs,
      start.requestBytes,
      responseBytes,
    )
    if (!core.edges.record(key, event.durationMs)) {
      core.edges.add(
        key,
        {
          reporter: 'source',
          source: core.self,
          destination: destination ?? UNKNOWN_PEER,
          service: service.service,
          protocol: start.protocol,
          // What auto mTLS dials: the endpoint accepts it (the destination's own report is exact).
          mtls: event.destination?.mtls === true,
          code,
          grpcStatus,
          flags,
        },
        event.durationMs,
      )
    }

    const span = this.#span
    if (span) {
      if (span.isRecording()) {
        if (grpc && event.grpcStatus !== undefined) span.setAttribute(RPC_GRPC_STATUS_CODE, event.grpcStatus)
        if (!grpc && event.status !== undefined)
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, event.status)
        if (event.rule) span.setAttribute(WEFT_RULE, event.rule)
        if (event.flags.length) span.setAttribute(WEFT_FLAGS, flags)
        const failed = grpc
          ? (event.grpcStatus ?? 0) !== 0
          : event.error !== undefined || code >= 400 || code === 0
        if (failed) {
          span.setAttribute(
            ATTR_ERROR_TYPE,
            event.error?.name ?? (grpc ? String(event.grpcStatus) : code === 0 ? '_OTHER' : String(code)),
          )
          span.setStatus({ code: SpanStatusCode.ERROR })
        }
      }
      span.end(endedAt)
    }

    core.log(
      'source',
      (): AccessLogEntry => ({
        start_time: new Date(this.#startedAt).toISOString(),
        reporter: 'source',
        method: start.method,
        path: start.path,
        protocol: grpc ? 'HTTP/2' : 'HTTP/1.1',
        response_code: code,
        response_flags: flags,
        grpc_status: event.grpcStatus ?? null,
        bytes_received: responseBytes,
        bytes_sent: start.requestBytes,
        duration: Math.round(event.durationMs),
        upstream_host: event.endpoint ?? null,
        upstream_cluster: cluster ?? null,
        request_id: this.#requestId,
        authority: start.authority,
        user_agent: start.header('user-agent') ?? null,
        x_forwarded_for: start.header('x-forwarded-for') ?? null,
        downstream_remote_address: null,
        trace_id: span?.spanContext().traceId ?? trace.getSpanContext(this.#parent)?.traceId ?? null,
        route_name: event.rule ?? null,
        connection_security_policy: UNKNOWN,
        source_principal: core.self.principal === UNKNOWN ? null : core.self.principal,
        destination_principal:
          destination && destination.principal !== UNKNOWN ? destination.principal : null,
        destination_service: service.service,
      }),
      { scheme: start.scheme, header: start.header, destinationPort: target?.port },
    )
  }
}

function sourceLabels(
  core: TelemetryCore,
  service: ServiceLabels,
  destination: KeyedPeer | undefined,
  grpc: boolean,
  code: number,
  grpcStatus: string,
  flags: string,
): string[] {
  return requestLabels({
    reporter: 'source',
    source: core.self,
    destination: destination ?? UNKNOWN_PEER,
    service,
    grpc,
    code,
    grpcStatus,
    flags,
    // The client cannot know how the server saw the connection: Istio's source reporter says `unknown`.
    security: UNKNOWN,
  })
}

/**
 * `@weft/client`'s `OutboundTelemetry`, implemented: pass it as `telemetry` to
 * `createMeshDispatcher` and `meshGrpc`.
 */
export class OutboundTelemetry {
  readonly #core: TelemetryCore

  constructor(core: TelemetryCore) {
    this.#core = core
  }

  start(request: OutboundStart): OutboundCall | undefined {
    if (isUntraced()) return undefined
    return new OutboundCall(this.#core, request)
  }

  breakerStateChanged(cluster: string, state: 'closed' | 'open' | 'half-open'): void {
    this.#core.weft.breakerState(cluster, state)
  }

  endpointEjected(cluster: string, _endpoint: string): void {
    this.#core.weft.endpointEjected(cluster)
  }

  retryBudgetExhausted(cluster: string): void {
    this.#core.weft.retryBudgetExhausted(cluster)
  }
}
