import type { AuthorizationPolicy } from '@weft/config'
import type {
  AuthorizationDecision,
  CustomCheck,
  DryRunMatch,
  PolicyAction,
} from './authorization-decision.js'
import type { AuthorizationRequest } from './authorization-request.js'
import { compileRule } from './compile-rule.js'
import type { CompiledRule, PolicyRef } from './compiled-rule.js'
import { RequestView } from './request-view.js'
import { RuleIndex } from './rule-index.js'

const NONE: readonly never[] = Object.freeze([])
const ACTIONS: ReadonlySet<string> = new Set<PolicyAction>(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'])
const DRY_RUN = 'istio.io/dry-run'

const NO_ALLOW_POLICIES: AuthorizationDecision = Object.freeze({
  verdict: 'allow',
  reason: 'no-allow-policies',
  custom: NONE,
  audit: NONE,
  dryRun: NONE,
})

const NO_ALLOW_POLICY_MATCHED: AuthorizationDecision = Object.freeze({
  verdict: 'deny',
  reason: 'no-allow-policy-matched',
  custom: NONE,
  audit: NONE,
  dryRun: NONE,
})

/** Go's strconv.ParseBool, which Istio applies to `istio.io/dry-run`; undefined if neither. */
function parseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false
  return undefined
}

/** The name Envoy's RBAC filter gives a rule; it keeps policies in a map sorted by it. */
function envoyName(policy: AuthorizationPolicy, rule: number): string {
  return `ns[${policy.metadata.namespace}]-policy[${policy.metadata.name}]-rule[${rule}]`
}

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as { code?: unknown }).code
  return typeof code === 'string'
    ? `${error.name} ${code}: ${error.message}`
    : `${error.name}: ${error.message}`
}

/** A workload's policies compiled once; `decide` answers each request. Immutable. */
export class Authorizer {
  /**
   * What compiling found: values Weft cannot evaluate and what they do instead (see
   * `compileRule`), policies enforced differently from how they were written.
   */
  readonly notes: readonly string[]
  readonly #rules: readonly CompiledRule[]
  readonly #deny: RuleIndex
  readonly #allow: RuleIndex
  readonly #audit: RuleIndex
  readonly #custom: readonly (readonly [string, RuleIndex])[]
  readonly #dryRun: RuleIndex
  readonly #hasAllowPolicies: boolean
  /** The decision each ALLOW or DENY rule makes, by ordinal: built once, returned as is. */
  readonly #decisions: readonly AuthorizationDecision[]
  readonly #view = new RequestView()

  constructor(policies: readonly AuthorizationPolicy[]) {
    const notes: string[] = []
    const note = (message: string) => notes.push(message)
    const entries: { name: string; policy: PolicyRef; index: number; rule: unknown }[] = []
    let hasAllowPolicies = false
    for (const policy of policies) {
      const ref = policyRef(policy, note)
      if (!ref.dryRun && ref.action === 'ALLOW') hasAllowPolicies = true
      const rules: unknown = policy.spec.rules
      if (!Array.isArray(rules)) continue
      rules.forEach((rule, index) => {
        entries.push({ name: envoyName(policy, index), policy: ref, index, rule })
      })
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const compiled: CompiledRule[] = []
    entries.forEach((entry, ordinal) => {
      const rule = compileRule(entry.policy, entry.index, ordinal, entry.rule, note)
      if (rule) compiled.push(rule)
    })

    const decisions: AuthorizationDecision[] = []
    const enforced = (action: PolicyAction) =>
      compiled.filter((rule) => !rule.policy.dryRun && rule.policy.action === action)
    for (const rule of compiled) {
      const decided = { policy: rule.policy.key, rule: rule.index, custom: NONE, audit: NONE, dryRun: NONE }
      if (rule.policy.action === 'DENY') {
        decisions[rule.ordinal] = Object.freeze({ verdict: 'deny', reason: 'denied-by-policy', ...decided })
      } else if (rule.policy.action === 'ALLOW') {
        decisions[rule.ordinal] = Object.freeze({ verdict: 'allow', reason: 'allowed-by-policy', ...decided })
      }
    }
    const providers = [...new Set(enforced('CUSTOM').map((rule) => rule.policy.provider as string))].sort()

    this.notes = Object.freeze(notes)
    this.#rules = compiled
    this.#deny = new RuleIndex(enforced('DENY'))
    this.#allow = new RuleIndex(enforced('ALLOW'))
    this.#audit = new RuleIndex(enforced('AUDIT'))
    this.#custom = providers.map(
      (provider) =>
        [
          provider,
          new RuleIndex(enforced('CUSTOM').filter((rule) => rule.policy.provider === provider)),
        ] as const,
    )
    this.#dryRun = new RuleIndex(compiled.filter((rule) => rule.policy.dryRun))
    this.#hasAllowPolicies = hasAllowPolicies
    this.#decisions = decisions
    Object.freeze(this)
  }

  /**
   * Istio's order: CUSTOM providers to ask (returned, asked by the adapter first), DENY, then
   * ALLOW; AUDIT and dry-run policies reported. Never throws: an error denies.
   */
  decide(request: AuthorizationRequest): AuthorizationDecision {
    try {
      return this.#decide(request)
    } catch (error) {
      return {
        verdict: 'deny',
        reason: 'evaluation-failed',
        error: errorMessage(error),
        custom: NONE,
        audit: NONE,
        dryRun: NONE,
      }
    } finally {
      this.#view.release()
    }
  }

  #decide(request: AuthorizationRequest): AuthorizationDecision {
    const view = this.#view
    view.reset(request)
    let custom: readonly CustomCheck[] = NONE
    for (let i = 0; i < this.#custom.length; i++) {
      const [provider, index] = this.#custom[i] as readonly [string, RuleIndex]
      const rule = index.first(view)
      if (rule) custom = [...custom, { provider, policy: rule.policy.key }]
    }
    const audit = policyKeys(this.#audit.all(view))
    const dryRun = dryRunMatches(this.#dryRun.all(view))

    const denied = this.#deny.first(view)
    let decision: AuthorizationDecision
    if (denied) {
      decision = this.#decisions[denied.ordinal] as AuthorizationDecision
    } else if (!this.#hasAllowPolicies) {
      decision = NO_ALLOW_POLICIES
    } else {
      const allowed = this.#allow.first(view)
      decision = allowed
        ? (this.#decisions[allowed.ordinal] as AuthorizationDecision)
        : NO_ALLOW_POLICY_MATCHED
    }
    if (custom === NONE && audit === NONE && dryRun === NONE) return decision
    return { ...decision, custom, audit, dryRun }
  }

  /** Every rule as compiled, one per line, in Envoy's order; then the notes. */
  toString(): string {
    return [...this.#rules.map(String), ...this.notes.map((n) => `note: ${n}`)].join('\n')
  }
}

function policyRef(policy: AuthorizationPolicy, note: (message: string) => void): PolicyRef {
  const { namespace, name, annotations } = policy.metadata
  const key = `AuthorizationPolicy/${namespace}/${name}`
  const written: unknown = policy.spec.action ?? 'ALLOW'
  let action: PolicyAction = ACTIONS.has(written as string) ? (written as PolicyAction) : 'DENY'
  if (action !== written) note(`${key}: unknown action ${JSON.stringify(written)}; enforced as DENY`)
  const provider = policy.spec.provider?.name
  if (action === 'CUSTOM' && !provider) {
    // Istio builds deny rules for a CUSTOM policy whose provider it cannot resolve.
    note(`${key}: CUSTOM without a provider name; enforced as DENY, as Istio does`)
    action = 'DENY'
  }
  const flag = annotations?.[DRY_RUN]
  const dryRun = flag === undefined ? false : parseBool(flag)
  if (dryRun === undefined) note(`${key}: ${DRY_RUN} ${JSON.stringify(flag)} is not a boolean; enforced`)
  return {
    key,
    namespace,
    action,
    ...(action === 'CUSTOM' && provider ? { provider } : {}),
    dryRun: dryRun === true,
  }
}

/** One key per policy, in the order its first matching rule came. */
function policyKeys(rules: readonly CompiledRule[]): readonly string[] {
  if (rules.length === 0) return NONE
  return [...new Set(rules.map((rule) => rule.policy.key))]
}

function dryRunMatches(rules: readonly CompiledRule[]): readonly DryRunMatch[] {
  if (rules.length === 0) return NONE
  const seen = new Set<string>()
  const matches: DryRunMatch[] = []
  for (const rule of rules) {
    if (seen.has(rule.policy.key)) continue
    seen.add(rule.policy.key)
    matches.push({ action: rule.policy.action, policy: rule.policy.key })
  }
  return matches
}

/**
 * Compiles the policies that govern one workload — `snapshot.policiesFor(namespace,
 * labels).authorization`, already selected by namespace and `selector` — into an Authorizer.
 * Never throws for a policy it cannot fully evaluate; it fails closed and says so in `notes`.
 */
export function compileAuthorization(policies: readonly AuthorizationPolicy[]): Authorizer {
  return new Authorizer(policies)
}
