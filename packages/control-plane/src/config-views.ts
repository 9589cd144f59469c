import { compileSnapshot, type Resource, type Snapshot } from '@weft/config'
import { NotFoundError } from './errors.js'
import type { StoreState } from './store/config-store.js'
import type { WorkloadStatus } from './workload-status.js'

/** The snapshot the control plane's state compiles to, once per revision: what SDKs will compile too. */
export class StateSnapshot {
  #revision = -1
  #snapshot: Snapshot | undefined

  of(state: StoreState): Snapshot {
    if (state.revision !== this.#revision || !this.#snapshot) {
      this.#snapshot = compileSnapshot(
        [...state.resources.values()].map((r) => r.resource),
        { trusted: true, registry: [...state.endpoints.values()].map((e) => e.endpoint) },
      )
      this.#revision = state.revision
    }
    return this.#snapshot
  }
}

function key(r: Resource): string {
  return `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`
}

/** `weft describe service`: what governs one service, from its routes to its workloads' policies. */
export interface ServiceDescription {
  readonly version: number
  readonly host: string
  readonly namespace: string
  readonly ports: readonly { number: number; name?: string; protocol?: string }[]
  readonly endpoints: readonly {
    address: string
    port: number
    labels: Readonly<Record<string, string>>
    serviceAccount?: string
    mtls: boolean
    locality?: string
  }[]
  /** VirtualServices for the host, as its namespace sees them: the first is the one in force. */
  readonly virtualServices: readonly Resource[]
  readonly destinationRule: Resource | undefined
  /** Each subset and the endpoints its labels select. */
  readonly subsets: readonly { name: string; labels: Readonly<Record<string, string>>; endpoints: number }[]
  /** Policies that govern the service's workloads (by `app: NAME`), mesh-wide ones first. */
  readonly policies: readonly { key: string; kind: string; summary: string }[]
  readonly workloads: readonly WorkloadStatus[]
}

function policySummary(r: Resource): string {
  const spec = r.spec as {
    action?: string
    mtls?: { mode?: string }
    jwtRules?: { issuer?: string }[]
    rules?: unknown[]
    mode?: string
  }
  switch (r.kind) {
    case 'AuthorizationPolicy':
      return `${spec.action ?? 'ALLOW'}, ${spec.rules?.length ?? 0} rule(s)`
    case 'PeerAuthentication':
      return `mTLS ${spec.mtls?.mode ?? 'UNSET'}`
    case 'RequestAuthentication':
      return `JWT from ${(spec.jwtRules ?? []).map((j) => j.issuer).join(', ') || 'no issuer'}`
    case 'RateLimitPolicy':
      return `${spec.mode ?? 'ENFORCE'}, ${spec.rules?.length ?? 0} rule(s)`
    default:
      return ''
  }
}

export function describeService(
  snapshot: Snapshot,
  state: StoreState,
  statuses: readonly WorkloadStatus[],
  namespace: string,
  name: string,
): ServiceDescription {
  const host = snapshot.resolveHost(name, namespace)
  const service = snapshot.service(host)
  if (!service)
    throw new NotFoundError(`no service ${name} in namespace ${namespace} (neither registered nor declared)`)
  const resources = [...state.resources.values()].map((r) => r.resource)
  const virtualServices = resources.filter(
    (r) =>
      r.kind === 'VirtualService' &&
      (r.spec as { hosts?: string[] }).hosts?.some(
        (h) => snapshot.resolveHost(h, r.metadata.namespace) === host,
      ),
  )
  const compiledDr = snapshot.destinationRuleFor(host, namespace)
  const destinationRule = resources.find((r) => r.kind === 'DestinationRule' && compiledDr?.source === key(r))
  const subsets = compiledDr
    ? [...compiledDr.subsets].map(([subset, s]) => ({
        name: subset,
        labels: s.labels,
        endpoints: service.endpoints.filter((e) =>
          Object.entries(s.labels).every(([k, v]) => e.labels[k] === v),
        ).length,
      }))
    : []
  const labels = { app: name }
  const governing = snapshot.policiesFor(namespace, labels)
  const policies = [
    ...governing.peerAuthentication,
    ...governing.requestAuthentication,
    ...governing.authorization,
    ...governing.rateLimit,
  ].map((r) => ({ key: key(r), kind: r.kind, summary: policySummary(r) }))
  return {
    version: state.revision,
    host,
    namespace: service.namespace,
    ports: service.ports.map((p) => ({
      number: p.number,
      ...(p.name ? { name: p.name } : {}),
      ...(p.protocol ? { protocol: p.protocol } : {}),
    })),
    endpoints: service.endpoints.map((e) => ({
      address: e.address,
      port: e.port,
      labels: e.labels,
      ...(e.serviceAccount ? { serviceAccount: e.serviceAccount } : {}),
      mtls: e.mtls,
      ...(e.locality ? { locality: e.locality } : {}),
    })),
    virtualServices,
    destinationRule,
    subsets,
    policies,
    workloads: statuses.filter((w) => w.namespace === service.namespace && w.service === name),
  }
}

/** `weft dump`: what one workload sees — the hosts it can route, and the policies on it. */
export function dumpWorkload(
  snapshot: Snapshot,
  state: StoreState,
  statuses: readonly WorkloadStatus[],
  namespace: string,
  service: string,
): object {
  const instances = statuses.filter((w) => w.namespace === namespace && w.service === service)
  const labels = instances[0]?.labels ?? { app: service }
  const governing = snapshot.policiesFor(namespace, labels)
  const list = (rs: readonly Resource[]) => rs.map(key)
  return {
    version: state.revision,
    workload: { namespace, service, labels },
    instances,
    snapshot: snapshot.toJSON(),
    routes: snapshot.virtualServices
      .hosts()
      .sort()
      .map((host) => {
        const vs = snapshot.virtualServiceFor(host, namespace)
        return vs ? { host, virtualService: vs.source, rules: vs.http.map((r) => r.source) } : { host }
      }),
    policies: {
      peerAuthentication: list(governing.peerAuthentication),
      requestAuthentication: list(governing.requestAuthentication),
      authorization: list(governing.authorization),
      rateLimit: list(governing.rateLimit),
      telemetry: list(governing.telemetry),
    },
  }
}
