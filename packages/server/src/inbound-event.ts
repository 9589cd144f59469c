import type { DryRunMatch } from '@weft/core'
import type { InboundStage } from './inbound-verdict.js'

/**
 * What the inbound pipeline decided for one request, reported once per request to
 * `onInboundDecision` (the telemetry package turns it into metrics and logs). A hook never
 * affects traffic: what it throws is caught and dropped.
 */
export interface InboundDecisionEvent {
  readonly protocol: 'http' | 'grpc'
  readonly method: string
  /** The normalised path (the raw target when normalisation refused it). */
  readonly path: string
  readonly verdict: 'allow' | 'deny'
  /** The check that denied; `undefined` when the request was allowed. */
  readonly stage: InboundStage | undefined
  /** Stable reason: `allowed-by-policy`, `no-allow-policies`, `jwt:…`, `rate-limited` … */
  readonly reason: string
  /** `AuthorizationPolicy/ns/name`, `RateLimitPolicy/ns/name#rule`, `RequestAuthentication/…` that decided. */
  readonly policy: string | undefined
  /** Index of the AuthorizationPolicy rule that decided. */
  readonly rule: number | undefined
  /** The status the client got (200 stands for "passed to the application"). */
  readonly status: number
  readonly principal: string | undefined
  readonly requestPrincipal: string | undefined
  /** AUDIT policies that matched. */
  readonly audit: readonly string[]
  /** `istio.io/dry-run` AuthorizationPolicies that matched. */
  readonly dryRun: readonly DryRunMatch[]
  /** DRY_RUN RateLimitPolicy rules that would have limited this request. */
  readonly rateLimitDryRun: readonly string[]
  /** CUSTOM providers asked. */
  readonly custom: readonly string[]
  /** Time the whole pipeline took. */
  readonly durationMs: number
  /** Of which asking external authorizers. */
  readonly customDurationMs: number
}

export type InboundDecisionHook = (event: InboundDecisionEvent) => void

export function reportDecision(hook: InboundDecisionHook | undefined, event: InboundDecisionEvent): void {
  if (!hook) return
  try {
    hook(event)
  } catch {
    // Telemetry must never change what happens to a request.
  }
}
