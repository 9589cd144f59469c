/** An AuthorizationPolicy `action`. */
export type PolicyAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM'

/** A CUSTOM provider to ask, and the policy (`AuthorizationPolicy/ns/name`) that selected it. */
export interface CustomCheck {
  readonly provider: string
  readonly policy: string
}

/** A dry-run policy (`istio.io/dry-run: "true"`) that matched: reported, never enforced. */
export interface DryRunMatch {
  readonly action: PolicyAction
  readonly policy: string
}

interface DecisionBase {
  /**
   * External authorizers to ask before anything else, one entry per provider, in Istio's order
   * (by provider name). The adapter asks each in turn; the first that denies answers the
   * request with its own response. If all allow, `verdict` stands. A provider missing from the
   * mesh config denies, as Istio does.
   */
  readonly custom: readonly CustomCheck[]
  /** AUDIT policies that matched (`AuthorizationPolicy/ns/name`): audit the request if any. */
  readonly audit: readonly string[]
  readonly dryRun: readonly DryRunMatch[]
}

/**
 * What Istio decides for one request, CUSTOM aside: DENY policies first, then ALLOW.
 * `policy` (`AuthorizationPolicy/ns/name`) and `rule` (its index in `rules`) name what decided;
 * when several rules match, the one Envoy reports (first by its `ns[NS]-policy[NAME]-rule[N]`
 * name). `reason` is stable for logs and metrics.
 */
export type AuthorizationDecision =
  | (DecisionBase & {
      readonly verdict: 'allow'
      /** No ALLOW policy applies to the workload: everything not denied is allowed. */
      readonly reason: 'no-allow-policies'
    })
  | (DecisionBase & {
      readonly verdict: 'allow'
      readonly reason: 'allowed-by-policy'
      readonly policy: string
      readonly rule: number
    })
  | (DecisionBase & {
      readonly verdict: 'deny'
      readonly reason: 'denied-by-policy'
      readonly policy: string
      readonly rule: number
    })
  | (DecisionBase & {
      readonly verdict: 'deny'
      /** ALLOW policies apply and none matched (an ALLOW policy without rules matches nothing). */
      readonly reason: 'no-allow-policy-matched'
    })
  | (DecisionBase & {
      readonly verdict: 'deny'
      /** Evaluation threw: the request is denied, never let through. */
      readonly reason: 'evaluation-failed'
      readonly error: string
    })
