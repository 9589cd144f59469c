/**
 * Envoy's response flags, for what the mesh itself decided about a request. Weft sends them to
 * the caller in `x-weft-response-flags` (comma-separated), since there is no sidecar access log
 * to read them from; telemetry reports them as Istio's `response_flags` label.
 */
export const RESPONSE_FLAGS_HEADER = 'x-weft-response-flags'

export const ResponseFlag = Object.freeze({
  /** No healthy upstream endpoint. */
  noHealthyUpstream: 'UH',
  /** A circuit breaker (connection pool limit) refused the request. */
  overflow: 'UO',
  /** The route timeout expired. */
  timeout: 'UT',
  /** A fault was injected (abort or delay). */
  faultInjected: 'FI',
  /** The delay fault was applied. */
  delayInjected: 'DI',
  /** The upstream reset the connection. */
  upstreamReset: 'UR',
  /** The upstream could not be connected to. */
  connectionFailure: 'UF',
  /** Retries were exhausted. */
  retryLimit: 'URX',
  /** No route matched the request. */
  noRoute: 'NR',
  /** The mesh is REGISTRY_ONLY and the host is unknown. */
  blackhole: 'NC',
  /** The response came from the route (redirect or direct response), not an upstream. */
  directResponse: 'DR',
})
