import {
  analyze,
  compileSnapshot,
  type Endpoint,
  type Resource,
  type Severity,
  type Snapshot,
  selects,
  splitServiceHost,
} from '@weft/config'
import { NotFoundError } from './errors.js'
import type { StoreState } from './store/config-store.js'
import type { TrafficEdge } from './traffic/service-graph.js'
import type { InstanceClusters } from './traffic/traffic-window.js'
import { workloadName } from './traffic/workload-name.js'
import type { WorkloadStatus } from './workload-status.js'

/** One `analyze` finding about a resource, as `GET /api/v1/config` lists it. */
export interface ConfigFinding {
  readonly code: string
  readonly severity: Severity
  readonly message: string
  /** The field it is about (`spec.http[0].route[1].destination`); empty for the whole resource. */
  readonly path: string
}

/**
 * The snapshot the control plane's state compiles to, once per revision: what SDKs will compile
 * too; and `weft analyze`'s findings over the same state, also once per revision.
 */
export class StateSnapshot {
  #revision = -1
  #snapshot: Snapshot | undefined
  #findingsRevision = -1
  #findings = new Map<string, ConfigFinding[]>()

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

  /** `analyze`'s findings by resource key (`Kind/namespace/name`). */
  findings(state: StoreState): ReadonlyMap<string, readonly ConfigFinding[]> {
    if (state.revision !== this.#findingsRevision) {
      const byKey = new Map<string, ConfigFinding[]>()
      const diagnostics = analyze(
        [...state.resources.values()].map((r) => r.resource),
        [],
        { registry: [...state.endpoints.values()].map((e) => e.endpoint) },
      )
      for (const d of diagnostics) {
        if (d.resource === undefined) continue
        const list = byKey.get(d.resource) ?? []
        list.push({ code: d.code, severity: d.severity, message: d.message, path: d.field })
        byKey.set(d.resource, list)
      }
      this.#findings = byKey
      this.#findingsRevision = state.revision
    }
    return this.#findings
  }
}

/** `GET /api/v1/config`: every resource (of one namespace, when given) with `analyze`'s findings beside it. */
export function configWithFindings(
  views: StateSnapshot,
  state: StoreState,
  namespace: string | undefined,
): {
  version: number
  resources: {
    kind: string
    namespace: string
    name: string
    resourceVersion: string
    findings: readonly ConfigFinding[]
  }[]
} {
  const findings = views.findings(state)
  const resources = [...state.resources.entries()]
    .filter(([, r]) => namespace === undefined || r.resource.metadata.namespace === namespace)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, r]) => ({
      kind: r.resource.kind,
      namespace: r.resource.metadata.namespace,
      name: r.resource.metadata.name,
      resourceVersion: r.resourceVersion,
      findings: findings.get(key) ?? [],
    }))
  return { version: state.revision, resources }
}

function key(r: Resource): string {
  return `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`
}

/** One registered endpoint and its health as the clients that reported on it see it. */
export interface DescribedEndpoint {
  readonly address: string
  readonly port: number
  readonly labels: Readonly<Record<string, string>>
  /** `ejected` when an instance's outlier detection has it ejected now; `unknown` when no instance reported on it. */
  readonly health: 'healthy' | 'ejected' | 'unknown'
  /** The instances that have it ejected. */
  readonly ejectedBy: readonly string[]
}

/** One destination of a rule: its weight, and the share of the window's requests it received. */
export interface RouteDestinationView {
  readonly host: string
  readonly subset: string | null
  readonly weight: number
  /** Its requests over those of every destination of the rule; null when none had any. */
  readonly observedShare: number | null
  readonly requests: number
}

/**
 * The VirtualService in force for the service: its http rules in order, each with the fields
 * of the rule as written (`name`, `match`, `redirect`, `directResponse`, `fault`, `timeout`,
 * when set) and its destinations with what they received.
 */
export interface RouteView {
  readonly virtualService: string
  readonly http: readonly {
    /** `VirtualService/ns/name#http[i]`. */
    readonly rule: string
    readonly kind: 'route' | 'redirect' | 'directResponse' | 'delegate'
    readonly name?: string
    readonly match?: unknown[]
    readonly redirect?: unknown
    readonly directResponse?: unknown
    readonly fault?: unknown
    readonly timeout?: string
    readonly destinations: readonly RouteDestinationView[]
  }[]
}

type WrittenRule = Omit<RouteView['http'][number], 'rule' | 'kind' | 'destinations'>

const WRITTEN_FIELDS = ['name', 'match', 'redirect', 'directResponse', 'fault', 'timeout'] as const

/** What the control plane heard of the mesh's traffic in its window: edges and each instance's clusters. */
export interface ObservedTraffic {
  readonly nowMs: number
  readonly edges: readonly TrafficEdge[]
  readonly instances: readonly InstanceClusters[]
}

const NO_TRAFFIC: ObservedTraffic = { nowMs: 0, edges: [], instances: [] }

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
    health: DescribedEndpoint['health']
    ejectedBy: readonly string[]
  }[]
  /** VirtualServices for the host, as its namespace sees them: the first is the one in force. */
  readonly virtualServices: readonly Resource[]
  /** The rules in force with the traffic each destination received in the window. */
  readonly routes: readonly RouteView[]
  readonly destinationRule: Resource | undefined
  /** Each subset and the endpoints its labels select. */
  readonly subsets: readonly {
    name: string
    labels: Readonly<Record<string, string>>
    endpoints: readonly DescribedEndpoint[]
  }[]
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

/** Each endpoint (`address:port`) of `host` some instance reported on, and who has it ejected now. */
function endpointReports(host: string, traffic: ObservedTraffic): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const instance of traffic.instances) {
    for (const cluster of instance.clusters) {
      if (cluster.service !== host) continue
      for (const e of cluster.endpoints) {
        let by = out.get(e.address)
        if (!by) {
          by = new Set()
          out.set(e.address, by)
        }
        if (e.ejected && (e.ejectedUntil === null || e.ejectedUntil > traffic.nowMs))
          by.add(instance.instance)
      }
    }
  }
  return out
}

function endpointHealth(
  e: Endpoint,
  reports: Map<string, Set<string>>,
): Pick<DescribedEndpoint, 'health' | 'ejectedBy'> {
  const by = reports.get(`${e.address}:${e.port}`)
  return {
    health: by === undefined ? 'unknown' : by.size > 0 ? 'ejected' : 'healthy',
    ejectedBy: by ? [...by].sort() : [],
  }
}

/**
 * The VirtualService in force for callers in the service's namespace, each rule with the
 * requests its destinations received in the window. Requests are counted per destination (host
 * and subset, by the labels of the workload that answered), whichever rule sent them.
 */
function routeViews(
  snapshot: Snapshot,
  state: StoreState,
  host: string,
  namespace: string,
  traffic: ObservedTraffic,
): RouteView[] {
  const vs = snapshot.virtualServiceFor(host, namespace)
  if (!vs) return []
  const spec = state.resources.get(vs.source)?.resource.spec as
    | { http?: Record<string, unknown>[] }
    | undefined
  const labelsOf = new Map<string, Readonly<Record<string, string>>>()
  const requestsTo = (target: string, subset: string | undefined): number => {
    const selector =
      subset === undefined
        ? undefined
        : snapshot.destinationRuleFor(target, namespace)?.subsets.get(subset)?.labels
    if (subset !== undefined && selector === undefined) return 0
    const name = splitServiceHost(target, snapshot.domainSuffix)?.name ?? target
    let total = 0
    for (const e of traffic.edges) {
      if (e.destination.service !== target) continue
      const d = e.destination
      const key = `${target}\u0000${d.workload}`
      let labels = labelsOf.get(key)
      if (!labels) {
        const registered = snapshot
          .service(target)
          ?.endpoints.find((p) => workloadName(p.labels, name) === d.workload)?.labels
        labels = registered ?? { app: d.app, version: d.version }
        labelsOf.set(key, labels)
      }
      if (selector === undefined || (d.workload !== 'unknown' && selects(selector, labels)))
        total += e.requests
    }
    return total
  }
  return [
    {
      virtualService: vs.source,
      http: vs.http.map((rule, i) => {
        const written = spec?.http?.[i] ?? {}
        const fields: Record<string, unknown> = {}
        for (const field of WRITTEN_FIELDS) if (written[field] !== undefined) fields[field] = written[field]
        const weighted = rule.action.kind === 'route' ? rule.action.destinations : undefined
        const picked = weighted?.destinations ?? []
        // The share each destination is given, in percent: one written without a weight takes all.
        const weightOf = (j: number) => {
          const c = weighted?.cumulative ?? []
          const total = weighted?.total ?? 0
          return total === 0 ? 0 : (100 * ((c[j] ?? 0) - (c[j - 1] ?? 0))) / total
        }
        const counts = picked.map((d) => requestsTo(d.host, d.subset))
        const sum = counts.reduce((a, b) => a + b, 0)
        return {
          rule: rule.source,
          kind: rule.action.kind,
          ...(fields as WrittenRule),
          destinations: picked.map((d, j) => ({
            host: d.host,
            subset: d.subset ?? null,
            weight: weightOf(j),
            observedShare: sum === 0 ? null : Math.round(((counts[j] as number) / sum) * 10_000) / 10_000,
            requests: counts[j] as number,
          })),
        }
      }),
    },
  ]
}

export function describeService(
  snapshot: Snapshot,
  state: StoreState,
  statuses: readonly WorkloadStatus[],
  namespace: string,
  name: string,
  traffic: ObservedTraffic = NO_TRAFFIC,
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
  const reports = endpointReports(host, traffic)
  const subsets = compiledDr
    ? [...compiledDr.subsets].map(([subset, s]) => ({
        name: subset,
        labels: s.labels,
        endpoints: service.endpoints
          .filter((e) => selects(s.labels, e.labels))
          .map((e) => ({
            address: e.address,
            port: e.port,
            labels: e.labels,
            ...endpointHealth(e, reports),
          })),
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
      ...endpointHealth(e, reports),
    })),
    virtualServices,
    routes: routeViews(snapshot, state, host, service.namespace, traffic),
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
