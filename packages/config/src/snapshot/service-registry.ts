import type { Kind, Resource, ServiceEntry, WorkloadEntry } from '../model/resource.js'
import { resourceKey } from '../model/resource.js'
import type { HostResolver } from './host-name.js'
import { Interner } from './interner.js'
import { SealedCache } from './sealed.js'

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

const NO_PORTS: Readonly<Record<string, number>> = Object.freeze({})
/** A sealed registered endpoint's compiled form and workload, made once (see sealed.ts). */
const registered = new SealedCache<{ readonly endpoint: Endpoint; readonly workload: WorkloadInfo }>()
const EMPTY: readonly never[] = Object.freeze([])

// Objects made by the thousand are built without spreads: V8 can give each object built through
// a spread its own hidden class, which costs more than the object.

function endpoint(
  e: EndpointFields,
  port: number,
  mtls: boolean,
  source: string,
  interner: Interner,
): Endpoint {
  const made: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
    address: interner.string(e.address ?? ''),
    port,
    ports: e.ports && Object.keys(e.ports).length > 0 ? interner.data({ ...e.ports }) : NO_PORTS,
    labels: interner.labels(e.labels),
    weight: e.weight ?? 1,
    mtls,
    source,
  }
  if (e.locality) made.locality = interner.string(e.locality)
  if (e.serviceAccount) made.serviceAccount = interner.string(e.serviceAccount)
  return Object.freeze(made)
}

function workload(
  namespace: string,
  labels: Readonly<Record<string, string>>,
  serviceAccount: string | undefined,
  source: string,
): WorkloadInfo {
  return serviceAccount ? { namespace, labels, serviceAccount, source } : { namespace, labels, source }
}

/** The kinds `buildServiceRegistry` reads, besides the registered endpoints: no other changes its result. */
export const REGISTRY_KINDS: ReadonlySet<Kind> = new Set([
  'Service',
  'Deployment',
  'ServiceEntry',
  'WorkloadEntry',
])

/**
 * Services and endpoints, from every source the config has: Kubernetes Services, ServiceEntries
 * (their endpoints, or the WorkloadEntries their selector picks) and registered endpoints.
 */
export function buildServiceRegistry(
  resources: readonly Resource[],
  registry: readonly RegistryEndpoint[],
  resolve: HostResolver,
  interner: Interner = new Interner(),
): { services: Map<string, ServiceInfo>; workloads: WorkloadInfo[] } {
  const services = new Map<string, MutableService>()
  const workloads: WorkloadInfo[] = []
  const serviceFor = (host: string, namespace: string) => {
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
      }
      services.set(host, s)
    }
    return s
  }
  const workloadEntries = resources.filter((r): r is WorkloadEntry => r.kind === 'WorkloadEntry')

  for (const r of resources) {
    const ns = interner.string(r.metadata.namespace)
    switch (r.kind) {
      case 'Service': {
        const s = serviceFor(interner.string(resolve(r.metadata.name, ns)), ns)
        s.sources.push(interner.string(resourceKey(r)))
        for (const p of r.spec.ports ?? []) {
          s.ports.push({
            number: p.port,
            ...(p.name ? { name: interner.string(p.name) } : {}),
            ...(typeof p.targetPort === 'number' ? { targetPort: p.targetPort } : {}),
          })
        }
        break
      }
      case 'Deployment': {
        const sa = r.spec.template?.spec?.serviceAccountName
        workloads.push(
          workload(
            ns,
            interner.data({ ...(r.spec.template?.metadata?.labels ?? {}) }),
            sa ? interner.string(sa) : undefined,
            interner.string(resourceKey(r)),
          ),
        )
        break
      }
      case 'WorkloadEntry':
        workloads.push(
          workload(
            ns,
            interner.data({ ...(r.spec.labels ?? {}) }),
            r.spec.serviceAccount ? interner.string(r.spec.serviceAccount) : undefined,
            interner.string(resourceKey(r)),
          ),
        )
        break
      case 'ServiceEntry':
        addServiceEntry(r, serviceFor, workloadEntries, resolve, interner)
        break
      default:
        break
    }
  }
  for (const e of registry) {
    const namespace = interner.string(e.namespace)
    const host = interner.string(resolve(e.service, namespace))
    const s = serviceFor(host, namespace)
    if (!s.sources.includes('registry')) s.sources.push('registry')
    const made = registered.made(e, '', () => {
      const added = endpoint({ ...e, ports: NO_PORTS }, e.port, e.mtls ?? false, 'registry', interner)
      // The endpoint's copy of the labels: a workload's labels are its endpoint's.
      return {
        endpoint: added,
        workload: workload(namespace, added.labels, added.serviceAccount, 'registry'),
      }
    })
    s.endpoints.push(made.endpoint)
    workloads.push(made.workload)
  }
  const frozen = new Map<string, ServiceInfo>()
  for (const [host, s] of services) {
    // A literal, not a spread of `s`: V8 gives a frozen copy of a spread its own hidden class.
    frozen.set(
      host,
      Object.freeze({
        host: s.host,
        namespace: s.namespace,
        // Copies: an array grown by push keeps spare room (17 slots for one element), and a
        // snapshot holds these for every service.
        ports: s.ports.length > 0 ? Object.freeze(s.ports.slice()) : EMPTY,
        endpoints: s.endpoints.length > 0 ? Object.freeze(s.endpoints.slice()) : EMPTY,
        location: s.location,
        resolution: s.resolution,
        sources: interner.value(`sources\0${s.sources.join('\n')}`, () => Object.freeze(s.sources)),
      }),
    )
  }
  return { services: frozen, workloads }
}

function addServiceEntry(
  se: ServiceEntry,
  serviceFor: (host: string, namespace: string) => MutableService,
  workloadEntries: readonly WorkloadEntry[],
  resolve: HostResolver,
  interner: Interner,
) {
  const ns = interner.string(se.metadata.namespace)
  const source = interner.string(resourceKey(se))
  const spec = se.spec
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
    number: p.number,
    name: p.name === undefined ? undefined : interner.string(p.name),
    ...(p.protocol ? { protocol: interner.string(p.protocol) } : {}),
    ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
  }))
  const firstPort = ports[0]?.targetPort ?? ports[0]?.number ?? 80
  // An endpoint's port for the entry's first port, by that port's name, as Istio maps them.
  const firstName = ports[0]?.name
  const portOf = (mapped: Readonly<Record<string, number>> | undefined) =>
    (firstName !== undefined ? mapped?.[firstName] : undefined) ?? firstPort
  const endpoints: Endpoint[] = (spec.endpoints ?? []).map((e) =>
    endpoint(e, portOf(e.ports), false, source, interner),
  )
  if (spec.workloadSelector) {
    for (const we of workloadEntries) {
      if (we.metadata.namespace === ns && selects(spec.workloadSelector.labels, we.spec.labels ?? {})) {
        endpoints.push(
          endpoint(we.spec, portOf(we.spec.ports), false, interner.string(resourceKey(we)), interner),
        )
      }
    }
  }
  for (const raw of spec.hosts) {
    const host = interner.string(resolve(raw, ns))
    const s = serviceFor(host, ns)
    s.location = spec.location ?? 'MESH_EXTERNAL'
    s.resolution = spec.resolution ?? 'NONE'
    s.sources.push(source)
    for (const p of ports) if (!s.ports.some((q) => q.number === p.number)) s.ports.push(p)
    s.endpoints.push(...endpoints)
  }
}
