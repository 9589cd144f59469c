import type {
  AuthorizationPolicy,
  PeerAuthentication,
  RateLimitPolicy,
  RequestAuthentication,
  Resource,
  Telemetry,
} from '../model/resource.js'
import { selects } from './service-registry.js'

export interface WorkloadPolicies {
  readonly authorization: readonly AuthorizationPolicy[]
  readonly peerAuthentication: readonly PeerAuthentication[]
  readonly requestAuthentication: readonly RequestAuthentication[]
  readonly telemetry: readonly Telemetry[]
  readonly rateLimit: readonly RateLimitPolicy[]
}

type PolicyResource =
  | AuthorizationPolicy
  | PeerAuthentication
  | RequestAuthentication
  | Telemetry
  | RateLimitPolicy
const FIELD: Record<PolicyResource['kind'], keyof WorkloadPolicies> = {
  AuthorizationPolicy: 'authorization',
  PeerAuthentication: 'peerAuthentication',
  RequestAuthentication: 'requestAuthentication',
  Telemetry: 'telemetry',
  RateLimitPolicy: 'rateLimit',
}

function selectorOf(p: PolicyResource): Readonly<Record<string, string>> | undefined {
  return p.spec.selector?.matchLabels
}

/**
 * Policies by namespace. A workload is governed by the policies of the mesh root namespace
 * and of its own namespace whose selector (if any) matches its labels, in that order, root
 * first; this is resolved once per snapshot and workload, never per request.
 */
export class PolicyIndex {
  readonly #byNamespace = new Map<string, PolicyResource[]>()
  readonly rootNamespace: string

  constructor(resources: readonly Resource[], rootNamespace: string) {
    this.rootNamespace = rootNamespace
    // An indexed loop: built on every config change, by every SDK instance (see the Snapshot constructor).
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i] as Resource
      if (!(r.kind in FIELD)) continue
      // A policy with targetRef(s) attaches to gateways and waypoints, never to a workload
      // (Istio's ShouldAttachPolicy); applying it namespace-wide would deny by surprise.
      const target = r.spec as { targetRef?: unknown; targetRefs?: readonly unknown[] }
      if (target.targetRef || target.targetRefs?.length) continue
      const list = this.#byNamespace.get(r.metadata.namespace)
      if (list) list.push(r as PolicyResource)
      else this.#byNamespace.set(r.metadata.namespace, [r as PolicyResource])
    }
  }

  forWorkload(namespace: string, labels: Readonly<Record<string, string>>): WorkloadPolicies {
    const out: Record<keyof WorkloadPolicies, PolicyResource[]> = {
      authorization: [],
      peerAuthentication: [],
      requestAuthentication: [],
      telemetry: [],
      rateLimit: [],
    }
    const namespaces = namespace === this.rootNamespace ? [namespace] : [this.rootNamespace, namespace]
    for (const ns of namespaces) {
      for (const p of this.#byNamespace.get(ns) ?? []) {
        if (selects(selectorOf(p), labels)) out[FIELD[p.kind]].push(p)
      }
    }
    return out as unknown as WorkloadPolicies
  }

  /** Every policy, for `analyze` and dumps. */
  all(): PolicyResource[] {
    return [...this.#byNamespace.values()].flat()
  }
}
