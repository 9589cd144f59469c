import type { Endpoint } from '@weft/config'
import type { OutboundRequestEvent } from './request-event.js'

/** How an outgoing request began, as the caller sent it: what a CLIENT span and an access log need. */
export interface OutboundRequestStart {
  readonly protocol: 'http' | 'grpc'
  readonly method: string
  readonly scheme: string
  /** `host[:port]` as addressed. */
  readonly authority: string
  /** Path and query as the caller sent them; a gRPC call's method path (`/pkg.Service/Method`). */
  readonly path: string
  /** The caller's request headers (lower-case names) or gRPC metadata values. */
  readonly header: (name: string) => string | undefined
  /** Body size when known before sending (a string or buffer body); 0 for a stream or none. */
  readonly requestBytes: number
}

/** One attempt of a request, from the moment it is sent. */
export interface OutboundAttempt {
  /** Runs the attempt's send: the telemetry hides the inner hop from other tracers there. */
  run(send: () => void): void
  /** The attempt got a response status, or failed; called once. */
  end(status: number | undefined, error: Error | undefined): void
}

/** Follows one request from start to end: its span, its attempts' spans, its metrics and log line. */
export interface OutboundRequestObserver {
  /**
   * Attempt `number` (1 for the first) is about to go to `endpoint` (undefined when the host is
   * called as addressed); the observer may add trace-context headers to `headers`, the
   * attempt's own copy.
   */
  attempt(
    number: number,
    endpoint: Endpoint | undefined,
    headers: Record<string, string | string[]>,
  ): OutboundAttempt
  /**
   * Adds the request's own trace context to `headers`: for gRPC, whose attempts grpc-js makes
   * out of an interceptor's sight, so that the call carries one context for all of them.
   */
  propagate(headers: Record<string, string>): void
  end(event: OutboundRequestEvent): void
}

/**
 * The telemetry seam of the outbound side: `@weft/telemetry`'s `Telemetry.outbound` implements
 * it. `start` is called once per request, before routing; every method is called inside a
 * try/catch, since telemetry must never change what happens to a request.
 */
export interface OutboundTelemetry {
  start(request: OutboundRequestStart): OutboundRequestObserver | undefined
  /** A destination subset's circuit breaker (Weft's, opossum) changed state; `cluster` is Envoy's cluster name. */
  breakerStateChanged(cluster: string, state: 'closed' | 'open' | 'half-open'): void
  /** Outlier detection ejected `endpoint` (`address:port`) from `cluster`. */
  endpointEjected(cluster: string, endpoint: string): void
  /** A retry the route's policy allowed was not made: the cluster's retry budget was spent. */
  retryBudgetExhausted(cluster: string): void
}

/** Calls one telemetry method, dropping what it throws: a broken hook never breaks traffic. */
export function observe<T>(call: () => T): T | undefined {
  try {
    return call()
  } catch {
    return undefined
  }
}
