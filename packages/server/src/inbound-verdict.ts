/** The inbound check that decided. */
export type InboundStage = 'path' | 'jwt' | 'custom' | 'authorization' | 'rate-limit' | 'internal'

/** gRPC status codes the pipeline answers with. */
export const GrpcStatus = Object.freeze({
  INTERNAL: 13,
  UNAUTHENTICATED: 16,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 14,
  UNIMPLEMENTED: 12,
  UNKNOWN: 2,
})

/** Envoy's mapping of an HTTP status to the gRPC status a gRPC client sees. */
export function grpcStatusOf(status: number): number {
  switch (status) {
    case 400:
      return GrpcStatus.INTERNAL
    case 401:
      return GrpcStatus.UNAUTHENTICATED
    case 403:
      return GrpcStatus.PERMISSION_DENIED
    case 404:
      return GrpcStatus.UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE
    default:
      return GrpcStatus.UNKNOWN
  }
}

/** The request goes on to the application, changed as the policy says. */
export interface InboundAllow {
  readonly allowed: true
  /** The normalised path and the query as received: what the application sees (Envoy forwards it). */
  readonly url: string
  /** The normalised path, without the query. */
  readonly path: string
  /** The peer's SPIFFE ID (mTLS), if any. */
  readonly principal: string | undefined
  /** `iss/sub` of a verified JWT, if any. */
  readonly requestPrincipal: string | undefined
  /** The verified JWT's claims, if any. */
  readonly claims: Readonly<Record<string, unknown>> | undefined
  /** Request headers to remove before the application sees them (the token, spoofed outputs). */
  readonly removeHeaders: readonly string[]
  /** Request headers to set (JWT outputs, ext_authz `headersToUpstreamOnAllow`). */
  readonly setHeaders: Readonly<Record<string, string>>
  /** Response headers to add (`x-ratelimit-*`, ext_authz `headersToDownstreamOnAllow`). */
  readonly responseHeaders: Readonly<Record<string, string>>
}

/** The pipeline answers the request itself; the application never sees it. */
export interface InboundDeny {
  readonly allowed: false
  readonly stage: InboundStage
  readonly status: number
  readonly grpcCode: number
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
  /** Stable, for logs and metrics (`jwt:Jwt is expired`, `denied-by-policy` …). */
  readonly reason: string
}

export type InboundVerdict = InboundAllow | InboundDeny
