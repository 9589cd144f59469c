import type { DestinationRuleSpec } from '../generated/istio-types.js'
import {
  CIRCUIT_BREAKER_ANNOTATION,
  type CircuitBreakerSettings,
  parseCircuitBreakerAnnotation,
} from '../model/circuit-breaker-annotation.js'
import type { DestinationRule } from '../model/resource.js'
import { resourceKey } from '../model/resource.js'
import type { HostResolver } from './host-name.js'

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

export function compileDestinationRule(dr: DestinationRule, resolve: HostResolver): CompiledDestinationRule {
  const ns = dr.metadata.namespace
  const spec = dr.spec
  const ports = new Set<number>()
  for (const p of spec.trafficPolicy?.portLevelSettings ?? [])
    if (p.port?.number !== undefined) ports.add(p.port.number)
  for (const s of spec.subsets ?? []) {
    for (const p of s.trafficPolicy?.portLevelSettings ?? [])
      if (p.port?.number !== undefined) ports.add(p.port.number)
  }
  const policies = new Map<string, TrafficPolicy>()
  const subsets = new Map<string, CompiledSubset>()
  const subsetPolicies: [string, RuleTrafficPolicy | undefined][] = [['', undefined]]
  for (const s of spec.subsets ?? []) {
    subsets.set(s.name, Object.freeze({ name: s.name, labels: Object.freeze({ ...(s.labels ?? {}) }) }))
    subsetPolicies.push([s.name, s.trafficPolicy])
  }
  for (const [name, policy] of subsetPolicies) {
    policies.set(`${name}:`, mergeTrafficPolicy(spec.trafficPolicy, policy, undefined))
    for (const port of ports)
      policies.set(`${name}:${port}`, mergeTrafficPolicy(spec.trafficPolicy, policy, port))
  }
  const exportTo = spec.exportTo
  const breakerAnnotation = dr.metadata.annotations?.[CIRCUIT_BREAKER_ANNOTATION]
  const breaker =
    breakerAnnotation === undefined ? undefined : parseCircuitBreakerAnnotation(breakerAnnotation)
  return Object.freeze({
    circuitBreaker: breaker && !('error' in breaker) ? breaker : undefined,
    source: resourceKey(dr),
    namespace: ns,
    host: resolve(spec.host, ns),
    ...(exportTo && !exportTo.includes('*')
      ? { exportTo: new Set(exportTo.map((e) => (e === '.' ? ns : e))) }
      : {}),
    ...(spec.workloadSelector?.matchLabels
      ? { workloadSelector: Object.freeze({ ...spec.workloadSelector.matchLabels }) }
      : {}),
    subsets,
    policy(subset: string | undefined, port: number | undefined): TrafficPolicy {
      const s = subset !== undefined && subsets.has(subset) ? subset : ''
      return (
        (port !== undefined ? policies.get(`${s}:${port}`) : undefined) ??
        (policies.get(`${s}:`) as TrafficPolicy)
      )
    },
  })
}
