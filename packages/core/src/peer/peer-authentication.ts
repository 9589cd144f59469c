import type { PeerAuthentication } from '@weft/config'

/** How a workload's port takes peers: mutual TLS only, mutual TLS or plaintext, plaintext only. */
export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE'

/** Which level of PeerAuthentication set the mode; `default` when none did (Istio's PERMISSIVE). */
export type PeerAuthenticationScope = 'default' | 'mesh' | 'namespace' | 'workload' | 'port'

export interface PeerAuthenticationDecision {
  readonly mode: MtlsMode
  readonly scope: PeerAuthenticationScope
  /** `PeerAuthentication/namespace/name` of the policy whose setting won, if any did. */
  readonly policy?: string
}

/** The PeerAuthentication in force for one workload: its mode, and per target port overrides. */
export interface WorkloadPeerAuthentication {
  readonly workload: PeerAuthenticationDecision
  /** Keyed by the workload's target port (the port it listens on), as `portLevelMtls` is. */
  readonly ports: Readonly<Record<string, PeerAuthenticationDecision>>
}

type Mode = NonNullable<NonNullable<PeerAuthentication['spec']['mtls']>['mode']>

const DEFAULT: PeerAuthenticationDecision = Object.freeze({ mode: 'PERMISSIVE', scope: 'default' })

function keyOf(p: PeerAuthentication): string {
  return `PeerAuthentication/${p.metadata.namespace}/${p.metadata.name}`
}

function isSet(mode: Mode | undefined): mode is MtlsMode {
  return mode !== undefined && mode !== 'UNSET'
}

/** The first of two policies at one level: Istio keeps the oldest; without creation times, the first by name. */
function first(a: PeerAuthentication | undefined, b: PeerAuthentication): PeerAuthentication {
  return a === undefined || b.metadata.name < a.metadata.name ? b : a
}

/**
 * Merges the PeerAuthentication policies that govern one workload (those of the mesh root
 * namespace and of its own namespace whose selector matches it: `snapshot.policies.forWorkload`)
 * as Istio does: one policy per level (mesh: root namespace, no selector; namespace: no selector;
 * workload: a selector, outside the root namespace), the narrowest level that sets a mode wins,
 * `UNSET` inherits from the level above, and with nothing set the mode is PERMISSIVE.
 * `portLevelMtls` is read from the workload-level policy only, an `UNSET` port inheriting the
 * workload's mode. A selector in the root namespace selects nothing, as in Istio.
 */
export function mergePeerAuthentication(
  policies: readonly PeerAuthentication[],
  rootNamespace: string,
): WorkloadPeerAuthentication {
  let mesh: PeerAuthentication | undefined
  let namespace: PeerAuthentication | undefined
  let workload: PeerAuthentication | undefined
  for (const p of policies) {
    const hasSelector = Object.keys(p.spec.selector?.matchLabels ?? {}).length > 0
    const inRoot = p.metadata.namespace === rootNamespace
    if (!hasSelector && inRoot) mesh = first(mesh, p)
    else if (!hasSelector) namespace = first(namespace, p)
    else if (!inRoot) workload = first(workload, p)
  }
  let decision = DEFAULT
  const levels: [PeerAuthentication | undefined, PeerAuthenticationScope][] = [
    [mesh, 'mesh'],
    [namespace, 'namespace'],
    [workload, 'workload'],
  ]
  for (const [policy, scope] of levels) {
    const mode = policy?.spec.mtls?.mode
    if (policy && isSet(mode)) decision = Object.freeze({ mode, scope, policy: keyOf(policy) })
  }
  const ports: Record<string, PeerAuthenticationDecision> = {}
  for (const [port, setting] of Object.entries(workload?.spec.portLevelMtls ?? {})) {
    const mode = setting.mode
    ports[String(Number(port))] = isSet(mode)
      ? Object.freeze({ mode, scope: 'port', policy: keyOf(workload!) })
      : decision
  }
  return Object.freeze({ workload: decision, ports: Object.freeze(ports) })
}

/** The decision for one target port of a workload. */
export function peerAuthenticationFor(
  merged: WorkloadPeerAuthentication,
  targetPort: number,
): PeerAuthenticationDecision {
  return merged.ports[targetPort] ?? merged.workload
}
