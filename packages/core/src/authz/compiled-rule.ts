import type { PolicyAction } from './authorization-decision.js'
import type { AttributeMatcher, IndexPattern } from './authorization-matchers.js'
import type { RequestView } from './request-view.js'

/** The policy a rule belongs to, as the authorizer enforces it. */
export interface PolicyRef {
  /** `AuthorizationPolicy/ns/name`. */
  readonly key: string
  readonly namespace: string
  /** The action enforced (a CUSTOM policy without a provider is enforced as DENY). */
  readonly action: PolicyAction
  readonly provider?: string
  readonly dryRun: boolean
}

/** The request attributes rules are indexed by. */
export type IndexAttribute = 'path' | 'host' | 'principal'

/** One field or `when` key: any of its values matches (`values`), or none does (`notValues`). */
export class Condition {
  constructor(
    readonly key: string,
    readonly matchers: readonly AttributeMatcher[],
    readonly negated: boolean,
    /** Set for positive `paths`, `hosts` and `principals`, which the index can use. */
    readonly indexAttribute?: IndexAttribute,
  ) {}

  holds(view: RequestView): boolean {
    const matchers = this.matchers
    for (let i = 0; i < matchers.length; i++) {
      if ((matchers[i] as AttributeMatcher).matches(view)) return !this.negated
    }
    return this.negated
  }

  toString(): string {
    return `${this.key} ${this.negated ? 'none of' : 'any of'} [${this.matchers.join(', ')}]`
  }
}

function allHold(conditions: readonly Condition[], view: RequestView): boolean {
  for (let i = 0; i < conditions.length; i++) {
    if (!(conditions[i] as Condition).holds(view)) return false
  }
  return true
}

/** `from` or `to`: any entry matches (none listed matches everything), every field within it. */
function someHolds(alternatives: readonly (readonly Condition[])[], view: RequestView): boolean {
  if (alternatives.length === 0) return true
  for (let i = 0; i < alternatives.length; i++) {
    if (allHold(alternatives[i] as readonly Condition[], view)) return true
  }
  return false
}

function describeAlternatives(name: string, alternatives: readonly (readonly Condition[])[]): string[] {
  if (alternatives.length === 0) return []
  const each = alternatives.map((alt) => (alt.length === 0 ? 'any' : alt.join(' and ')))
  return [`${name} ${each.length === 1 ? each[0] : each.map((e) => `(${e})`).join(' or ')}`]
}

/**
 * One rule of one policy: `to` and `from` and every `when` condition (Istio's
 * model.New, which folds `when` into the permissions and principals it ANDs).
 */
export class CompiledRule {
  /** What the index files the rule under; undefined: the rule is a candidate for every request. */
  readonly indexBy:
    | { readonly attribute: IndexAttribute; readonly patterns: readonly IndexPattern[] }
    | undefined

  constructor(
    readonly policy: PolicyRef,
    /** Index in the policy's `rules`. */
    readonly index: number,
    /** Position in Envoy's order (policy names sorted); lower wins when several match. */
    readonly ordinal: number,
    readonly to: readonly (readonly Condition[])[],
    readonly from: readonly (readonly Condition[])[],
    readonly when: readonly Condition[],
  ) {
    this.indexBy =
      indexKeys(this.to, 'path') ?? indexKeys(this.to, 'host') ?? indexKeys(this.from, 'principal')
  }

  matches(view: RequestView): boolean {
    return someHolds(this.to, view) && someHolds(this.from, view) && allHold(this.when, view)
  }

  toString(): string {
    const parts = [
      ...describeAlternatives('to', this.to),
      ...describeAlternatives('from', this.from),
      ...(this.when.length > 0 ? [`when ${this.when.join(' and ')}`] : []),
    ]
    const dryRun = this.policy.dryRun ? ' (dry run)' : ''
    return `${this.policy.action}${dryRun} ${this.policy.key} rules[${this.index}]: ${parts.length > 0 ? parts.join('; ') : 'any request'}`
  }
}

/** The patterns one attribute must satisfy for every entry of `from` or `to` to match. */
function indexKeys(
  alternatives: readonly (readonly Condition[])[],
  attribute: IndexAttribute,
): CompiledRule['indexBy'] {
  if (alternatives.length === 0) return undefined
  const patterns: IndexPattern[] = []
  for (const conditions of alternatives) {
    const condition = conditions.find((c) => c.indexAttribute === attribute)
    if (!condition) return undefined
    for (const matcher of condition.matchers) {
      if (!matcher.indexPattern) return undefined
      patterns.push(matcher.indexPattern)
    }
  }
  return { attribute, patterns }
}
