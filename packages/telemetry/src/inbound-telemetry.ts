import { randomUUID } from 'node:crypto'
import {
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api'
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions'
import type { AccessLogEntry } from './access-log-entry.js'
import {
  decodePeer,
  NO_FLAGS,
  PEER_HEADER,
  type PeerLabels,
  requestLabels,
  UNKNOWN,
  UNKNOWN_PEER,
} from './istio-labels.js'
import { currentScope, isUntraced, runInScope } from './request-scope.js'
import { REQUEST_ID_HEADER, RPC_GRPC_STATUS_CODE, rpcAttributes, splitAuthority } from './span-attributes.js'
import type { TelemetryCore } from './telemetry-core.js'
import { extractContext } from './trace-propagation.js'

/** Request headers as Node gives them: lower-case names, a repeated header as a list. */
export type InboundHeaders = Readonly<Record<string, string | readonly string[] | undefined>>

/** What an inbound adapter knows when a request arrives. */
export interface InboundStart {
  readonly protocol: 'http' | 'grpc'
  readonly method: string
  /** The request target as received, path and query (`req.url`); a gRPC call's method path. */
  readonly path: string
  /** `Host` / `:authority` as received. */
  readonly authority: string | undefined
  readonly headers: InboundHeaders
  readonly scheme?: 'http' | 'https'
  /** The peer's SPIFFE ID from a verified client certificate (with or without `spiffe://`); none in plaintext. */
  readonly peerPrincipal?: string | undefined
  /** Whether the connection is mutual TLS (Istio's `connection_security_policy`). */
  readonly mtls?: boolean
  readonly remoteAddress?: string | undefined
  readonly localPort?: number | undefined
}

/** How the request ended, as the adapter saw it answered. */
export interface InboundEnd {
  /** The HTTP status sent; for gRPC, the HTTP status carrying the call (200 unless the adapter knows better). */
  readonly status?: number
  readonly grpcStatus?: number
  /** Envoy's response flags the server side set. */
  readonly flags?: readonly string[]
  /** Request body bytes received. */
  readonly bytesIn?: number
  /** Response body bytes sent. */
  readonly bytesOut?: number
  /** The request ended in an error before or while answering (a reset). */
  readonly error?: Error
  /** Set when the inbound policy refused the request: counted in Weft's series. */
  readonly denial?: {
    readonly stage: string
    /** The resource that decided (`AuthorizationPolicy/ns/name`, `RateLimitPolicy/ns/name#rule`). */
    readonly policy: string | undefined
  }
}

/** One inbound request's telemetry, from `Telemetry.inbound.start` to `end`. */
export interface InboundCall {
  /** The request's `x-request-id`: the caller's, or a new UUID v4. Outbound calls made in `run` carry it. */
  readonly requestId: string
  /** Runs the application's handler in the request's scope: its trace context and `x-request-id` reach the calls it makes. */
  run<T>(fn: () => T): T
  /** Records the request: destination-side metrics, the SERVER span, the access-log line. Once. */
  end(result: InboundEnd): void
}

const NOOP_CALL: InboundCall = {
  requestId: '',
  run: (fn) => fn(),
  end: () => {},
}

function single(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.join(',')
}

function principalOf(peer: string | undefined): string {
  if (!peer) return UNKNOWN
  return peer.startsWith('spiffe://') ? peer : `spiffe://${peer}`
}

class InboundRequest implements InboundCall {
  readonly requestId: string
  readonly #core: TelemetryCore
  readonly #start: InboundStart
  readonly #startedAt: number
  readonly #header: (name: string) => string | undefined
  readonly #context: Context
  readonly #span: Span | undefined
  #ended = false

  constructor(core: TelemetryCore, start: InboundStart) {
    this.#core = core
    this.#start = start
    this.#startedAt = core.now()
    const headers = start.headers
    this.#header = (name) => single(headers[name])
    this.requestId = this.#header(REQUEST_ID_HEADER) ?? randomUUID()
    const active = context.active()
    const instrumented = trace.getSpan(active)
    if (instrumented?.isRecording()) {
      // An http/express/fastify instrumentation already made this request's SERVER span: Weft
      // adds to it instead of making a second one (see docs/telemetry.md, duplicate spans).
      this.#context = active
      this.#span = undefined
      return
    }
    const parent = extractContext(ROOT_CONTEXT, this.#header)
    let span: Span | undefined
    if (core.shouldTrace('destination', parent)) {
      const grpc = start.protocol === 'grpc'
      const target = start.path
      const query = target.indexOf('?')
      span = core.startSpan(grpc ? target.slice(1) : start.method, SpanKind.SERVER, parent, this.#startedAt)
      if (span.isRecording()) {
        if (grpc) span.setAttributes(rpcAttributes(target))
        else {
          span.setAttribute(ATTR_HTTP_REQUEST_METHOD, start.method)
          span.setAttribute(ATTR_URL_PATH, query < 0 ? target : target.slice(0, query))
          if (query >= 0) span.setAttribute(ATTR_URL_QUERY, target.slice(query + 1))
          span.setAttribute(ATTR_URL_SCHEME, start.scheme ?? 'http')
        }
        if (start.authority) {
          const { host, port } = splitAuthority(start.authority, start.scheme ?? 'http')
          span.setAttribute(ATTR_SERVER_ADDRESS, host)
          if (port !== undefined) span.setAttribute(ATTR_SERVER_PORT, port)
        }
        if (start.remoteAddress) span.setAttribute(ATTR_CLIENT_ADDRESS, start.remoteAddress)
      }
    }
    this.#span = span
    this.#context = span ? trace.setSpan(parent, span) : parent
  }

  run<T>(fn: () => T): T {
    const scope = { requestId: this.requestId, context: this.#context }
    // The SERVER span is active for the application too, when it has a context manager.
    return runInScope(scope, () => context.with(this.#context, fn))
  }

  end(result: InboundEnd): void {
    if (this.#ended) return
    this.#ended = true
    const core = this.#core
    const start = this.#start
    const endedAt = core.now()
    const durationMs = endedAt - this.#startedAt
    const grpc = start.protocol === 'grpc'
    const code = result.status ?? (result.error ? 0 : 200)
    const flags = result.flags?.length ? result.flags.join(',') : NO_FLAGS
    const grpcStatus = result.grpcStatus === undefined ? '' : String(result.grpcStatus)
    const principal = principalOf(start.peerPrincipal)
    const source = decodePeer(this.#header(PEER_HEADER), principal) ?? { ...UNKNOWN_PEER, principal }
    const security = start.mtls ? 'mutual_tls' : 'none'
    const bytesIn = result.bytesIn ?? 0
    const bytesOut = result.bytesOut ?? 0
    if (result.denial) {
      const policy = result.denial.policy ?? 'none'
      if (result.denial.stage === 'rate-limit') core.weft.rateLimited(policy)
      else core.weft.authorizationDenied(policy, result.denial.stage)
    }

    const policy = core.policy().destination
    const key = `d${source.workload};${source.namespace};${source.app};${source.version};${principal}:${start.mtls === true}:${start.protocol}:${code}:${grpcStatus}:${flags}`
    core.metrics.record(
      policy,
      key,
      () => destinationLabels(core, source, grpc, code, grpcStatus, flags, security),
      policy.dynamicTags
        ? {
            method: start.method,
            host: start.authority ?? '',
            scheme: start.scheme ?? 'http',
            protocol: grpc ? 'HTTP/2' : 'HTTP/1.1',
            header: this.#header,
            responseCode: code,
            destinationPort: start.localPort,
          }
        : undefined,
      durationMs,
      bytesIn,
      bytesOut,
    )
    if (!core.edges.record(key, durationMs)) {
      core.edges.add(
        key,
        {
          reporter: 'destination',
          source,
          destination: core.self,
          service: core.selfService.service,
          protocol: start.protocol,
          mtls: start.mtls === true,
          code,
          grpcStatus,
          flags,
        },
        durationMs,
      )
    }

    const span = this.#span
    const target = trace.getSpan(this.#context)
    if (target?.isRecording()) {
      if (grpc && result.grpcStatus !== undefined)
        target.setAttribute(RPC_GRPC_STATUS_CODE, result.grpcStatus)
      if (!grpc && result.status !== undefined)
        target.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.status)
      if (flags !== NO_FLAGS) target.setAttribute('weft.response_flags', flags)
      if (span) {
        // Server spans: a 4xx is the client's failure, not the server's (HTTP semantic conventions).
        const failed = grpc ? serverGrpcFailure(result.grpcStatus) : result.error !== undefined || code >= 500
        if (failed) {
          span.setAttribute(ATTR_ERROR_TYPE, result.error?.name ?? String(grpc ? result.grpcStatus : code))
          span.setStatus({ code: SpanStatusCode.ERROR })
        }
      }
    }
    span?.end(endedAt)

    core.log(
      'destination',
      (): AccessLogEntry => ({
        start_time: new Date(this.#startedAt).toISOString(),
        reporter: 'destination',
        method: start.method,
        path: start.path,
        protocol: grpc ? 'HTTP/2' : 'HTTP/1.1',
        response_code: code,
        response_flags: flags,
        grpc_status: result.grpcStatus ?? null,
        bytes_received: bytesIn,
        bytes_sent: bytesOut,
        duration: Math.round(durationMs),
        upstream_host: null,
        upstream_cluster: `inbound|${start.localPort ?? 0}||`,
        request_id: this.requestId,
        authority: start.authority ?? null,
        user_agent: this.#header('user-agent') ?? null,
        x_forwarded_for: this.#header('x-forwarded-for') ?? null,
        downstream_remote_address: start.remoteAddress ?? null,
        trace_id: trace.getSpanContext(this.#context)?.traceId ?? null,
        route_name: null,
        connection_security_policy: security,
        source_principal: principal === UNKNOWN ? null : principal,
        destination_principal: core.self.principal === UNKNOWN ? null : core.self.principal,
        destination_service: core.selfService.service,
      }),
      { scheme: start.scheme ?? 'http', header: this.#header, destinationPort: start.localPort },
    )
  }
}

/** gRPC codes OpenTelemetry counts as a server's own failure. */
function serverGrpcFailure(code: number | undefined): boolean {
  return code === 2 || code === 4 || code === 12 || code === 13 || code === 14 || code === 15
}

function destinationLabels(
  core: TelemetryCore,
  source: PeerLabels,
  grpc: boolean,
  code: number,
  grpcStatus: string,
  flags: string,
  security: string,
): string[] {
  return requestLabels({
    reporter: 'destination',
    source,
    destination: core.self,
    service: core.selfService,
    grpc,
    code,
    grpcStatus,
    flags,
    security,
  })
}

/** The inbound side, for the Express, Fastify and gRPC adapters. */
export class InboundTelemetry {
  readonly #core: TelemetryCore

  constructor(core: TelemetryCore) {
    this.#core = core
  }

  /**
   * A request arrived: call before anything else handles it (inbound policy included, so that
   * denials are measured), run the rest inside `call.run`, and call `call.end` once it is answered.
   */
  start(request: InboundStart): InboundCall {
    if (isUntraced()) return NOOP_CALL
    return new InboundRequest(this.#core, request)
  }

  /** The `x-request-id` of the inbound request being served, if any. */
  currentRequestId(): string | undefined {
    return currentScope()?.requestId
  }
}
