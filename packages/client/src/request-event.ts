import type { Endpoint } from '@weft/config'
import type { RouteTarget } from '@weft/core'

/**
 * What the mesh reports about one outgoing request when it is over: the telemetry package
 * turns these into Istio's metrics, spans and access-log lines. A hook never affects traffic:
 * an exception it throws is caught and dropped.
 */
export interface OutboundRequestEvent {
  /** The FQDN the caller addressed. */
  readonly host: string
  /** `VirtualService/ns/name#http[i]`, when a rule decided. */
  readonly rule: string | undefined
  /** Where the route sent it; undefined when the mesh answered without an upstream. */
  readonly target: RouteTarget | undefined
  /** `address:port` of the last endpoint tried. */
  readonly endpoint: string | undefined
  /** The last endpoint tried, with its labels and service account (destination workload labels); HTTP only. */
  readonly destination?: Endpoint
  /** The HTTP status the caller got; undefined when the call ended in an error, and for gRPC calls. */
  readonly status: number | undefined
  /** A gRPC call's status code. */
  readonly grpcStatus?: number
  /** Envoy's response flags the mesh set (`UH`, `UO`, `URX` …). */
  readonly flags: readonly string[]
  readonly attempts: number
  readonly durationMs: number
  /** Response body bytes the caller received. */
  readonly responseBytes?: number
  readonly error: Error | undefined
}

export type OutboundRequestHook = (event: OutboundRequestEvent) => void

export function report(hook: OutboundRequestHook | undefined, event: OutboundRequestEvent): void {
  if (!hook) return
  try {
    hook(event)
  } catch {
    // Telemetry must never change what happens to a request.
  }
}
