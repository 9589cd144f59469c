import { type RegistryEndpoint, type Snapshot, splitServiceHost } from '@weft/config'
import type { WorkloadStatus } from '../workload-status.js'
import { durationQuantileMs } from './duration-quantile.js'
import type { EdgeDestination, EdgePeer } from './traffic-report.js'
import type { InstanceClusters, WindowEdge } from './traffic-window.js'
import { workloadName } from './workload-name.js'

export type Health = 'healthy' | 'degraded' | 'failing'
export type NodeHealth = Health | 'idle'

/**
 * Kiali's default tolerance for application errors (HTTP 5xx and no response, gRPC 1–16):
 * degraded from 0.1 % of requests, failing above 10 % (docs/dashboard.md).
 */
export const HEALTH_THRESHOLDS = Object.freeze({ failingAboveErrorRate: 0.1, degradedFromErrorRate: 0.001 })

const UNKNOWN = 'unknown'
const RANK: Record<NodeHealth, number> = { idle: 0, healthy: 1, degraded: 2, failing: 3 }

export function edgeHealth(requests: number, errors: number): Health {
  const rate = requests === 0 ? 0 : errors / requests
  if (rate > HEALTH_THRESHOLDS.failingAboveErrorRate) return 'failing'
  if (rate >= HEALTH_THRESHOLDS.degradedFromErrorRate) return 'degraded'
  return 'healthy'
}

/** One call edge's traffic in the window, from the reporter the graph believes. */
export interface TrafficEdge {
  readonly reporter: 'source' | 'destination'
  readonly source: EdgePeer
  readonly destination: EdgeDestination
  readonly protocol: 'http' | 'grpc'
  /** Every request counted went over mutual TLS. */
  readonly mtls: boolean
  readonly requests: number
  readonly errors: number
  readonly codes: Readonly<Record<string, number>>
  readonly flags: Readonly<Record<string, number>>
  readonly durationBuckets: Float64Array
}

/**
 * One edge per (source workload, destination service and workload, protocol), with the
 * destination reporter's figures when it saw the edge, else the source's (as Kiali does): the
 * server measures what it served, while a client's view also holds requests that never left it.
 */
export function preferReporters(edges: readonly WindowEdge[]): TrafficEdge[] {
  const groups = new Map<string, { destination: WindowEdge[]; source: WindowEdge[] }>()
  for (const e of edges) {
    const s = e.source
    const d = e.destination
    const key = [s.namespace, s.workload, d.service, d.namespace, d.workload, e.protocol].join('\u0000')
    let group = groups.get(key)
    if (!group) {
      group = { destination: [], source: [] }
      groups.set(key, group)
    }
    group[e.reporter].push(e)
  }
  const out: TrafficEdge[] = []
  for (const group of groups.values()) {
    const chosen = group.destination.length > 0 ? group.destination : group.source
    const first = chosen[0] as WindowEdge
    const codes: Record<string, number> = {}
    const flags: Record<string, number> = {}
    const durationBuckets = new Float64Array(first.durationBuckets.length)
    let requests = 0
    let errors = 0
    let mtls = true
    for (const e of chosen) {
      requests += e.requests
      errors += e.errors
      if (!e.mtls && e.requests > 0) mtls = false
      for (const c in e.codes) codes[c] = (codes[c] ?? 0) + (e.codes[c] as number)
      for (const f in e.flags) flags[f] = (flags[f] ?? 0) + (e.flags[f] as number)
      e.durationBuckets.forEach((n, i) => {
        durationBuckets[i] = (durationBuckets[i] as number) + n
      })
    }
    out.push({
      reporter: first.reporter,
      source: first.source,
      destination: first.destination,
      protocol: first.protocol,
      mtls,
      requests,
      errors,
      codes,
      flags,
      durationBuckets,
    })
  }
  return out
}

export interface GraphNode {
  readonly id: string
  readonly kind: 'service' | 'workload'
  readonly namespace: string
  service: string
  readonly workload?: string
  app?: string
  version?: string
  parent?: string
  instances?: number
  config?: { version: number | null; state: 'ACK' | 'NACK' | 'PENDING'; reason?: string }
  health: NodeHealth
}

export interface GraphEdge {
  readonly id: string
  readonly source: string
  readonly target: string
  readonly service: string
  readonly protocol: 'http' | 'grpc'
  readonly mtls: boolean
  readonly rps: number
  readonly requests: number
  readonly errors: number
  readonly errorRate: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  share: number
  readonly health: Health
}

/** `GET /api/v1/graph` (docs/api.md). */
export interface ServiceGraph {
  readonly version: number
  readonly generatedAt: number
  readonly windowSeconds: number
  readonly nodes: readonly GraphNode[]
  readonly edges: readonly GraphEdge[]
}

export interface GraphInputs {
  /** The config version. */
  readonly version: number
  readonly nowMs: number
  readonly windowSeconds: number
  /** How many seconds the figures cover: less than the window just after the control plane started. */
  readonly spanSeconds: number
  readonly edges: readonly TrafficEdge[]
  readonly snapshot: Snapshot
  readonly endpoints: readonly RegistryEndpoint[]
  readonly statuses: readonly WorkloadStatus[]
  readonly instances: readonly InstanceClusters[]
  /** Only what touches this namespace (a workload token's view). */
  readonly namespace?: string
}

function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

function worse(a: NodeHealth, b: NodeHealth): NodeHealth {
  return RANK[b] > RANK[a] ? b : a
}

/** The instances of one workload agree on a config when all ACKed it: the lowest applied version is in force everywhere. */
function configOf(statuses: readonly WorkloadStatus[]): GraphNode['config'] {
  if (statuses.length === 0) return undefined
  const nack = statuses.find((s) => s.state === 'NACK')
  const applied = statuses.map((s) => s.applied).filter((v): v is number => v !== undefined)
  return {
    version: applied.length > 0 ? Math.min(...applied) : null,
    state: nack ? 'NACK' : statuses.some((s) => s.state === 'PENDING') ? 'PENDING' : 'ACK',
    ...(nack?.reason ? { reason: nack.reason } : {}),
  }
}

/**
 * The service graph: a node per service of the config and per workload (registered, watching,
 * reporting, or seen in traffic), an edge per call path with its rate, errors, latency and
 * share, coloured by Kiali's thresholds. A node's health is the worst of the edges into it;
 * a node that only calls out is healthy, one with no traffic idle.
 */
export function serviceGraph(input: GraphInputs): ServiceGraph {
  const { snapshot } = input
  const nodes = new Map<string, GraphNode>()
  const serviceNames = (host: string) => {
    const split = splitServiceHost(host, snapshot.domainSuffix)
    return {
      namespace: split?.namespace ?? snapshot.service(host)?.namespace ?? UNKNOWN,
      name: split?.name ?? host,
    }
  }
  const serviceNode = (namespace: string, name: string): GraphNode => {
    const id = `svc:${namespace}/${name}`
    let node = nodes.get(id)
    if (!node) {
      node = { id, kind: 'service', namespace, service: name, health: 'idle' }
      nodes.set(id, node)
    }
    return node
  }
  const members = new Map<string, Set<string>>()
  const workloadNode = (
    namespace: string,
    workload: string,
    info: { service?: string; app?: string; version?: string },
  ): GraphNode => {
    const id = `wl:${namespace}/${workload}`
    let node = nodes.get(id)
    if (!node) {
      node = {
        id,
        kind: 'workload',
        namespace,
        service: UNKNOWN,
        workload,
        app: UNKNOWN,
        version: UNKNOWN,
        instances: 0,
        health: 'idle',
      }
      nodes.set(id, node)
    }
    if (node.service === UNKNOWN && info.service && info.service !== UNKNOWN && workload !== UNKNOWN) {
      node.service = info.service
      node.parent = serviceNode(namespace, info.service).id
    }
    if (node.app === UNKNOWN && info.app) node.app = info.app
    if (node.version === UNKNOWN && info.version) node.version = info.version
    return node
  }
  const countInstance = (node: GraphNode, instance: string) => {
    let set = members.get(node.id)
    if (!set) {
      set = new Set()
      members.set(node.id, set)
    }
    set.add(instance)
    node.instances = set.size
  }

  for (const host of snapshot.services.keys()) {
    const s = serviceNames(host)
    serviceNode(s.namespace, s.name)
  }
  const reported = new Map(input.instances.map((i) => [`${i.workload.namespace}/${i.instance}`, i.workload]))
  const watching = new Map<string, WorkloadStatus[]>()
  for (const s of input.statuses) {
    if (!s.connected) continue
    const name = reported.get(`${s.namespace}/${s.instance}`)?.workload ?? workloadName(s.labels, s.service)
    const node = workloadNode(s.namespace, name, {
      service: s.service,
      app: s.labels.app ?? s.service,
      ...(s.labels.version ? { version: s.labels.version } : {}),
    })
    countInstance(node, s.instance)
    watching.set(node.id, [...(watching.get(node.id) ?? []), s])
  }
  for (const [id, list] of watching) {
    const node = nodes.get(id) as GraphNode
    const config = configOf(list)
    if (config) node.config = config
  }
  for (const i of input.instances) {
    const w = i.workload
    countInstance(workloadNode(w.namespace, w.workload, w), i.instance)
  }
  for (const e of input.endpoints) {
    const split = e.service.includes('.') ? splitServiceHost(e.service, snapshot.domainSuffix) : undefined
    const name = split?.name ?? e.service
    const namespace = split?.namespace ?? e.namespace
    const labels = e.labels ?? {}
    workloadNode(namespace, workloadName(labels, name), {
      service: name,
      app: labels.app ?? name,
      ...(labels.version ? { version: labels.version } : {}),
    })
  }

  const edges: GraphEdge[] = []
  const ids = new Set<string>()
  const toService = new Map<string, number>()
  const spanSeconds = Math.max(input.spanSeconds, 1)
  for (const e of input.edges) {
    const s = e.source
    const d = e.destination
    const called = serviceNames(d.service)
    const from = workloadNode(s.namespace, s.workload, {
      ...(s.app !== UNKNOWN ? { service: s.app, app: s.app } : {}),
      version: s.version,
    })
    const to =
      d.workload === UNKNOWN
        ? serviceNode(called.namespace, called.name)
        : workloadNode(d.namespace, d.workload, { service: called.name, app: d.app, version: d.version })
    let id = `${from.id}->${to.id}`
    if (ids.has(id)) id = `${id}#${d.service}/${e.protocol}`
    ids.add(id)
    const health = edgeHealth(e.requests, e.errors)
    const p50 = durationQuantileMs(0.5, e.durationBuckets)
    const p99 = durationQuantileMs(0.99, e.durationBuckets)
    edges.push({
      id,
      source: from.id,
      target: to.id,
      service: d.service,
      protocol: e.protocol,
      mtls: e.mtls,
      rps: round(e.requests / spanSeconds, 3),
      requests: e.requests,
      errors: e.errors,
      errorRate: e.requests === 0 ? 0 : round(e.errors / e.requests, 4),
      p50Ms: p50 === null ? null : round(p50, 2),
      p99Ms: p99 === null ? null : round(p99, 2),
      share: 0,
      health,
    })
    const shareKey = `${from.id}\u0000${d.service}`
    toService.set(shareKey, (toService.get(shareKey) ?? 0) + e.requests)
    to.health = worse(to.health, health)
    const service = serviceNode(called.namespace, called.name)
    service.health = worse(service.health, health)
    if (from.health === 'idle') from.health = 'healthy'
  }
  for (const edge of edges) {
    const total = toService.get(`${edge.source}\u0000${edge.service}`) ?? 0
    edge.share = total === 0 ? 0 : round(edge.requests / total, 4)
  }

  let keptNodes = [...nodes.values()]
  let keptEdges = edges
  const ns = input.namespace
  if (ns !== undefined) {
    keptEdges = edges.filter(
      (e) => nodes.get(e.source)?.namespace === ns || nodes.get(e.target)?.namespace === ns,
    )
    const wanted = new Set(keptEdges.flatMap((e) => [e.source, e.target]))
    for (const n of keptNodes) if (n.namespace === ns) wanted.add(n.id)
    for (const id of [...wanted]) {
      const parent = nodes.get(id)?.parent
      if (parent) wanted.add(parent)
    }
    keptNodes = keptNodes.filter((n) => wanted.has(n.id))
  }
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  return {
    version: input.version,
    generatedAt: input.nowMs,
    windowSeconds: input.windowSeconds,
    nodes: keptNodes.sort(byId),
    edges: keptEdges.sort(byId),
  }
}
