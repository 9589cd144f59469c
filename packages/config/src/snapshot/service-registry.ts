import type { Resource, ServiceEntry, WorkloadEntry } from '../model/resource.js'
import { resourceKey } from '../model/resource.js'
import type { HostResolver } from './host-name.js'

/** An endpoint a workload registered at run time (from the control plane, or the `registry` option). */
export interface RegistryEndpoint {
  /** Service name (`reviews`) or FQDN. */
  readonly service: string
  readonly namespace: string
  readonly address: string
  readonly port: number
  readonly labels?: Readonly<Record<string, string>>
  /** `region/zone/subzone`. */
  readonly locality?: string
  readonly weight?: number
  readonly serviceAccount?: string
  /** Whether the endpoint accepts Weft's mutual TLS (drives auto mTLS). */
  readonly mtls?: boolean
}

export interface Endpoint {
  readonly address: string
  /** The port to dial when the destination names none, or names one the endpoint does not map. */
  readonly port: number
  /** Service port name → the endpoint's port, from a ServiceEntry or WorkloadEntry. */
  readonly ports: Readonly<Record<string, number>>
  readonly labels: Readonly<Record<string, string>>
  readonly locality?: string
  readonly weight: number
  readonly serviceAccount?: string
  readonly mtls: boolean
  /** Where it came from: `registry`, `ServiceEntry/ns/name`, `WorkloadEntry/ns/name`. */
  readonly source: string
}

export interface ServicePort {
  readonly number: number
  readonly name?: string
  readonly protocol?: string
  readonly targetPort?: number
}

export interface ServiceInfo {
  readonly host: string
  readonly namespace: string
  readonly ports: readonly ServicePort[]
  readonly endpoints: readonly Endpoint[]
  readonly location: 'MESH_INTERNAL' | 'MESH_EXTERNAL'
  readonly resolution: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | 'DYNAMIC_DNS' | 'REGISTRY'
  readonly sources: readonly string[]
}

/** A workload known to the config: its namespace and pod labels, for selectors and `analyze`. */
export interface WorkloadInfo {
  readonly namespace: string
  readonly labels: Readonly<Record<string, string>>
  readonly serviceAccount?: string
  readonly source: string
}

export function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (!selector) return true
  for (const key in selector) if (labels[key] !== selector[key]) return false
  return true
}

interface MutableService {
  host: string
  namespace: string
  ports: ServicePort[]
  endpoints: Endpoint[]
  location: ServiceInfo['location']
  resolution: ServiceInfo['resolution']
  sources: string[]
}

/** The fields every endpoint source shares: a WorkloadEntry, a ServiceEntry endpoint, a registration. */
interface EndpointFields {
  readonly address?: string
  readonly ports?: Readonly<Record<string, number>>
  readonly labels?: Readonly<Record<string, string>>
  readonly locality?: string
  readonly weight?: number
  readonly serviceAccount?: string
}

function endpoint(e: EndpointFields, port: number, mtls: boolean, source: string): Endpoint {
  return Object.freeze({
    address: e.address ?? '',
    port,
    ports: Object.freeze({ ...(e.ports ?? {}) }),
    labels: Object.freeze({ ...(e.labels ?? {}) }),
    ...(e.locality ? { locality: e.locality } : {}),
    weight: e.weight ?? 1,
    ...(e.serviceAccount ? { serviceAccount: e.serviceAccount } : {}),
    mtls,
    source,
  })
}

/**
 * Services and endpoints, from every source the config has: Kubernetes Services, ServiceEntries
 * (their endpoints, or the WorkloadEntries their selector picks) and registered endpoints.
 */
export function buildServiceRegistry(
  resources: readonly Resource[],
  registry: readonly RegistryEndpoint[],
  resolve: HostResolver,
): { services: Map<string, ServiceInfo>; workloads: WorkloadInfo[] } {
  const services = new Map<string, MutableService>()
  const workloads: WorkloadInfo[] = []
  const serviceFor = (host: string, namespace: string, init: Partial<MutableService>) => {
    let s = services.get(host)
    if (!s) {
      s = {
        host,
        namespace,
        ports: [],
        endpoints: [],
        location: 'MESH_INTERNAL',
        resolution: 'REGISTRY',
        sources: [],
        ...init,
      }
      services.set(host, s)
    }
    return s
  }
  const workloadEntries = resources.filter((r): r is WorkloadEntry => r.kind === 'WorkloadEntry')

  for (const r of resources) {
    const ns = r.metadata.namespace
    switch (r.kind) {
      case 'Service': {
        const s = serviceFor(resolve(r.metadata.name, ns), ns, {})
        s.sources.push(resourceKey(r))
        for (const p of r.spec.ports ?? []) {
          s.ports.push({
            number: p.port,
            ...(p.name ? { name: p.name } : {}),
            ...(typeof p.targetPort === 'number' ? { targetPort: p.targetPort } : {}),
          })
        }
        break
      }
      case 'Deployment': {
        const labels = r.spec.template?.metadata?.labels ?? {}
        const sa = r.spec.template?.spec?.serviceAccountName
        workloads.push({
          namespace: ns,
          labels,
          ...(sa ? { serviceAccount: sa } : {}),
          source: resourceKey(r),
        })
        break
      }
      case 'WorkloadEntry':
        workloads.push({
          namespace: ns,
          labels: r.spec.labels ?? {},
          ...(r.spec.serviceAccount ? { serviceAccount: r.spec.serviceAccount } : {}),
          source: resourceKey(r),
        })
        break
      case 'ServiceEntry':
        addServiceEntry(r, serviceFor, workloadEntries, resolve)
        break
      default:
        break
    }
  }
  for (const e of registry) {
    const host = resolve(e.service, e.namespace)
    const s = serviceFor(host, e.namespace, {})
    if (!s.sources.includes('registry')) s.sources.push('registry')
    s.endpoints.push(endpoint({ ...e, ports: {} }, e.port, e.mtls ?? false, 'registry'))
    workloads.push({
      namespace: e.namespace,
      labels: e.labels ?? {},
      ...(e.serviceAccount ? { serviceAccount: e.serviceAccount } : {}),
      source: 'registry',
    })
  }
  const frozen = new Map<string, ServiceInfo>()
  for (const [host, s] of services) {
    frozen.set(
      host,
      Object.freeze({
        ...s,
        ports: Object.freeze(s.ports),
        endpoints: Object.freeze(s.endpoints),
        sources: Object.freeze(s.sources),
      }),
    )
  }
  return { services: frozen, workloads }
}

function addServiceEntry(
  se: ServiceEntry,
  serviceFor: (host: string, namespace: string, init: Partial<MutableService>) => MutableService,
  workloadEntries: readonly WorkloadEntry[],
  resolve: HostResolver,
) {
  const ns = se.metadata.namespace
  const spec = se.spec
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
    number: p.number,
    name: p.name,
    ...(p.protocol ? { protocol: p.protocol } : {}),
    ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
  }))
  const firstPort = ports[0]?.targetPort ?? ports[0]?.number ?? 80
  // An endpoint's port for the entry's first port, by that port's name, as Istio maps them.
  const firstName = ports[0]?.name
  const portOf = (mapped: Readonly<Record<string, number>> | undefined) =>
    (firstName !== undefined ? mapped?.[firstName] : undefined) ?? firstPort
  const endpoints: Endpoint[] = (spec.endpoints ?? []).map((e) =>
    endpoint(e, portOf(e.ports), false, resourceKey(se)),
  )
  if (spec.workloadSelector) {
    for (const we of workloadEntries) {
      if (we.metadata.namespace === ns && selects(spec.workloadSelector.labels, we.spec.labels ?? {})) {
        endpoints.push(endpoint(we.spec, portOf(we.spec.ports), false, resourceKey(we)))
      }
    }
  }
  for (const raw of spec.hosts) {
    const host = resolve(raw, ns)
    const s = serviceFor(host, ns, {})
    s.location = spec.location ?? 'MESH_EXTERNAL'
    s.resolution = spec.resolution ?? 'NONE'
    s.sources.push(resourceKey(se))
    for (const p of ports) if (!s.ports.some((q) => q.number === p.number)) s.ports.push(p)
    s.endpoints.push(...endpoints)
  }
}
