import type { DestinationRuleSpec } from '../generated/istio-types.js'
import {
  CIRCUIT_BREAKER_ANNOTATION,
  type CircuitBreakerSettings,
  parseCircuitBreakerAnnotation,
} from '../model/circuit-breaker-annotation.js'
import type { DestinationRule } from '../model/resource.js'
import { resourceKey } from '../model/resource.js'
import type { HostResolver } from './host-name.js'
import { Interner } from './interner.js'

type RuleTrafficPolicy = NonNullable<DestinationRuleSpec['trafficPolicy']>
/** The traffic policy in force for one subset and port: port-level settings already folded in. */
export type TrafficPolicy = Omit<RuleTrafficPolicy, 'portLevelSettings'>

export interface CompiledSubset {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
}

export interface CompiledDestinationRule {
  readonly source: string
  readonly namespace: string
  readonly host: string
  readonly exportTo?: ReadonlySet<string>
  readonly workloadSelector?: Readonly<Record<string, string>>
  readonly subsets: ReadonlyMap<string, CompiledSubset>
  /** Weft's whole-destination circuit breaker, when the rule's annotation asks for one. */
  readonly circuitBreaker?: CircuitBreakerSettings
  /** The merged policy for a subset (or none) and a port (or none); precomputed, never undefined. */
  policy(subset: string | undefined, port: number | undefined): TrafficPolicy
}

const FIELDS = [
  'connectionPool',
  'loadBalancer',
  'outlierDetection',
  'tls',
  'tunnel',
  'proxyProtocol',
  'retryBudget',
] as const

/**
 * Istio's merge: a subset's policy replaces the rule's field by field (top-level fields whole),
 * then the port-level settings for the port (the subset's if it has any, else the rule's)
 * replace those fields again.
 */
export function mergeTrafficPolicy(
  rule: RuleTrafficPolicy | undefined,
  subset: RuleTrafficPolicy | undefined,
  port: number | undefined,
): TrafficPolicy {
  const merged: Record<string, unknown> = {}
  for (const field of FIELDS) {
    const value = subset?.[field] ?? rule?.[field]
    if (value !== undefined) merged[field] = value
  }
  if (port !== undefined) {
    const levels = subset?.portLevelSettings?.length
      ? subset.portLevelSettings
      : (rule?.portLevelSettings ?? [])
    const atPort = levels.find((p) => p.port?.number === port)
    if (atPort) {
      for (const field of ['connectionPool', 'loadBalancer', 'outlierDetection', 'tls'] as const) {
        if (atPort[field] !== undefined) merged[field] = atPort[field]
      }
    }
  }
  return Object.freeze(merged) as TrafficPolicy
}

/**
 * A rule's merged policies, kept sparsely: an entry for a subset only where it differs from the
 * rule's, for a port only where it differs from its subset's. Most rules set no port-level
 * settings and no subset policies, and then hold one policy and no map.
 */
class CompiledRule implements CompiledDestinationRule {
  readonly source: string
  readonly namespace: string
  readonly host: string
  readonly exportTo?: ReadonlySet<string>
  readonly workloadSelector?: Readonly<Record<string, string>>
  readonly subsets: ReadonlyMap<string, CompiledSubset>
  readonly circuitBreaker?: CircuitBreakerSettings
  readonly #policy: TrafficPolicy
  readonly #policies: ReadonlyMap<string, TrafficPolicy> | undefined

  constructor(
    fields: Omit<CompiledDestinationRule, 'policy'>,
    policy: TrafficPolicy,
    policies: ReadonlyMap<string, TrafficPolicy> | undefined,
  ) {
    this.source = fields.source
    this.namespace = fields.namespace
    this.host = fields.host
    if (fields.exportTo) this.exportTo = fields.exportTo
    if (fields.workloadSelector) this.workloadSelector = fields.workloadSelector
    this.subsets = fields.subsets
    this.circuitBreaker = fields.circuitBreaker
    this.#policy = policy
    this.#policies = policies
    Object.freeze(this)
  }

  policy(subset: string | undefined, port: number | undefined): TrafficPolicy {
    const policies = this.#policies
    if (!policies) return this.#policy
    const s = subset !== undefined && this.subsets.has(subset) ? subset : ''
    return (
      (port !== undefined ? policies.get(`${s}:${port}`) : undefined) ?? policies.get(`${s}:`) ?? this.#policy
    )
  }
}

const NO_SUBSETS: ReadonlyMap<string, CompiledSubset> = new Map()

export function compileDestinationRule(
  dr: DestinationRule,
  resolve: HostResolver,
  interner: Interner = new Interner(),
): CompiledDestinationRule {
  const ns = interner.string(dr.metadata.namespace)
  const spec = dr.spec
  const ports = new Set<number>()
  for (const p of spec.trafficPolicy?.portLevelSettings ?? [])
    if (p.port?.number !== undefined) ports.add(p.port.number)
  for (const s of spec.subsets ?? []) {
    for (const p of s.trafficPolicy?.portLevelSettings ?? [])
      if (p.port?.number !== undefined) ports.add(p.port.number)
  }
  // Equal policies are one object (kept by content), so "the same as" is identity below.
  const merged = (subset: RuleTrafficPolicy | undefined, port: number | undefined): TrafficPolicy =>
    interner.data(mergeTrafficPolicy(spec.trafficPolicy, subset, port))
  const rulePolicy = merged(undefined, undefined)
  const policies = new Map<string, TrafficPolicy>()
  const subsetList: CompiledSubset[] = []
  const subsetPolicies: [string, RuleTrafficPolicy | undefined][] = [['', undefined]]
  for (const s of spec.subsets ?? []) {
    const name = interner.string(s.name)
    subsetList.push({ name, labels: interner.data({ ...(s.labels ?? {}) }) })
    subsetPolicies.push([name, s.trafficPolicy])
  }
  // Rules for many services name the same subsets (`v1` is `version: v1`): one map for all of them.
  const subsets =
    subsetList.length === 0
      ? NO_SUBSETS
      : interner.value(`subsets\0${JSON.stringify(subsetList)}`, () => {
          const map = new Map<string, CompiledSubset>()
          for (const subset of subsetList) map.set(subset.name, Object.freeze(subset))
          return map as ReadonlyMap<string, CompiledSubset>
        })
  for (const [name, policy] of subsetPolicies) {
    const forSubset = policy === undefined ? rulePolicy : merged(policy, undefined)
    if (forSubset !== rulePolicy) policies.set(`${name}:`, forSubset)
    for (const port of ports) {
      const atPort = merged(policy, port)
      if (atPort !== forSubset) policies.set(`${name}:${port}`, atPort)
    }
  }
  const exportTo = spec.exportTo
  const breakerAnnotation = dr.metadata.annotations?.[CIRCUIT_BREAKER_ANNOTATION]
  const breaker =
    breakerAnnotation === undefined ? undefined : parseCircuitBreakerAnnotation(breakerAnnotation)
  return new CompiledRule(
    {
      circuitBreaker: breaker && !('error' in breaker) ? interner.data(breaker) : undefined,
      source: interner.string(resourceKey(dr)),
      namespace: ns,
      host: interner.string(resolve(spec.host, ns)),
      ...(exportTo && !exportTo.includes('*')
        ? { exportTo: new Set(exportTo.map((e) => interner.string(e === '.' ? ns : e))) }
        : {}),
      ...(spec.workloadSelector?.matchLabels
        ? { workloadSelector: interner.data({ ...spec.workloadSelector.matchLabels }) }
        : {}),
      subsets,
    },
    rulePolicy,
    policies.size > 0 ? policies : undefined,
  )
}
