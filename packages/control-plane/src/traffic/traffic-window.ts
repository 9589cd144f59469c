import { DURATION_BUCKETS_MS } from './duration-quantile.js'
import type {
  EdgeDestination,
  EdgePeer,
  ReportedCluster,
  ReportedEdge,
  ReportingWorkload,
  TrafficReport,
} from './traffic-report.js'

/** One edge's traffic summed over some buckets of the window. */
export interface WindowEdge {
  readonly reporter: 'source' | 'destination'
  readonly source: EdgePeer
  readonly destination: EdgeDestination
  readonly protocol: 'http' | 'grpc'
  readonly mtls: boolean
  requests: number
  errors: number
  readonly codes: Record<string, number>
  readonly flags: Record<string, number>
  /** Per `DURATION_BUCKETS_MS` bound, then the overflow; not cumulative. */
  readonly durationBuckets: Float64Array
}

/** The last report's clusters of one instance: what its client sees of its upstreams. */
export interface InstanceClusters {
  readonly instance: string
  readonly workload: ReportingWorkload
  readonly clusters: readonly ReportedCluster[]
  readonly intervalMs: number
  readonly reportedAtMs: number
}

export interface TrafficWindowOptions {
  /** Default 5000. */
  readonly bucketMs?: number
  /** Default 60000: a whole number of buckets. */
  readonly windowMs?: number
  /** Distinct edges held across the window; a new one past it is refused. Default 5000. */
  readonly maxEdges?: number
  /** Instances whose clusters are kept; past it the one quiet longest is dropped. Default 5000. */
  readonly maxInstances?: number
  /**
   * Cluster endpoints kept over all instances; past it the instances quiet longest are dropped.
   * Default 200000 (some 40 MB): with the caps above, what bounds the window's memory.
   */
  readonly maxEndpoints?: number
  readonly log?: (line: string) => void
}

interface Bucket {
  startMs: number
  readonly edges: Map<string, WindowEdge>
}

// An instance's clusters outlive its watch stream this long, or three of its intervals: a
// reconnect to the control plane does not blank its upstreams' health.
const LAPSE_GRACE_MS = 15_000

function edgeKey(e: ReportedEdge): string {
  const s = e.source
  const d = e.destination
  return [
    e.reporter,
    s.namespace,
    s.workload,
    s.app,
    s.version,
    d.service,
    d.namespace,
    d.workload,
    d.app,
    d.version,
    e.protocol,
    e.mtls,
  ].join('\u0000')
}

type EdgeIdentity = Pick<ReportedEdge, 'reporter' | 'source' | 'destination' | 'protocol' | 'mtls'>
type EdgeCounts = Pick<ReportedEdge, 'requests' | 'errors' | 'codes' | 'flags'> & {
  readonly durationBuckets: ArrayLike<number>
}

function emptyEdge(e: EdgeIdentity): WindowEdge {
  return {
    reporter: e.reporter,
    source: e.source,
    destination: e.destination,
    protocol: e.protocol,
    mtls: e.mtls,
    requests: 0,
    errors: 0,
    codes: {},
    flags: {},
    durationBuckets: new Float64Array(DURATION_BUCKETS_MS.length + 1),
  }
}

/** Adds `from`'s counts into `into` (`sign` 1), or takes them out again (-1). */
function addInto(into: WindowEdge, from: EdgeCounts, sign: 1 | -1 = 1): void {
  into.requests += sign * from.requests
  into.errors += sign * from.errors
  for (const code in from.codes) {
    const n = (into.codes[code] ?? 0) + sign * (from.codes[code] as number)
    if (n === 0) delete into.codes[code]
    else into.codes[code] = n
  }
  for (const flag in from.flags) {
    const n = (into.flags[flag] ?? 0) + sign * (from.flags[flag] as number)
    if (n === 0) delete into.flags[flag]
    else into.flags[flag] = n
  }
  const buckets = into.durationBuckets
  for (let i = 0; i < buckets.length; i++)
    buckets[i] = (buckets[i] as number) + sign * (from.durationBuckets[i] ?? 0)
}

/**
 * The control plane's short memory of the mesh's traffic: per-edge sums in a ring of time
 * buckets (5 s each over 60 s by default), so that a question about the last N seconds sums
 * the buckets that started within them; and each instance's latest clusters, dropped once the
 * instance is gone. Bounded: distinct edges and instances are capped, with a log line when the
 * cap bites. Time comes in as an argument.
 */
export class TrafficWindow {
  readonly bucketMs: number
  readonly windowMs: number
  readonly #buckets: Bucket[]
  readonly #maxEdges: number
  readonly #maxInstances: number
  readonly #maxEndpoints: number
  #endpointsHeld = 0
  readonly #log: (line: string) => void
  /** In how many buckets each edge appears: the window's distinct edges are its keys. */
  readonly #edgeBuckets = new Map<string, number>()
  /** Each edge's sums over the whole window, kept as reports come in and buckets empty. */
  readonly #totals = new Map<string, WindowEdge>()
  readonly #instances = new Map<string, InstanceClusters>()
  #refusedEdges = 0
  #reports = 0

  constructor(options: TrafficWindowOptions = {}) {
    this.bucketMs = options.bucketMs ?? 5000
    this.windowMs = options.windowMs ?? 60_000
    if (!(this.bucketMs > 0) || this.windowMs % this.bucketMs !== 0 || this.windowMs <= 0)
      throw new RangeError('the traffic window must be a whole number of buckets')
    this.#buckets = Array.from({ length: this.windowMs / this.bucketMs }, () => ({
      startMs: Number.NEGATIVE_INFINITY,
      edges: new Map(),
    }))
    this.#maxEdges = options.maxEdges ?? 5000
    this.#maxInstances = options.maxInstances ?? 5000
    this.#maxEndpoints = options.maxEndpoints ?? 200_000
    this.#log = options.log ?? (() => {})
  }

  /** Reports taken so far: a change counter for whoever streams the graph. */
  get reports(): number {
    return this.#reports
  }

  /** Distinct edges held across the window. */
  get edgeCount(): number {
    return this.#edgeBuckets.size
  }

  /** Adds a report's edges to the bucket of `nowMs` and keeps its clusters as the instance's latest. */
  add(report: TrafficReport, nowMs: number): void {
    this.#reports++
    this.#expire(nowMs)
    const bucket = this.#current(nowMs)
    let refused = 0
    for (const e of report.edges) {
      if (e.requests === 0) continue
      const key = edgeKey(e)
      let into = bucket.edges.get(key)
      if (!into) {
        const seen = this.#edgeBuckets.get(key)
        if (seen === undefined && this.#edgeBuckets.size >= this.#maxEdges) {
          refused++
          continue
        }
        into = emptyEdge(e)
        bucket.edges.set(key, into)
        this.#edgeBuckets.set(key, (seen ?? 0) + 1)
      }
      addInto(into, e)
      let total = this.#totals.get(key)
      if (!total) {
        total = emptyEdge(e)
        this.#totals.set(key, total)
      }
      addInto(total, e)
    }
    if (refused > 0) {
      if (this.#refusedEdges === 0)
        this.#log(
          `traffic: the window holds its cap of ${this.#maxEdges} distinct edges; new edges are refused until older ones age out`,
        )
      this.#refusedEdges += refused
    }
    const id = `${report.workload.namespace}/${report.instance}`
    // Re-inserted, so that the map's order is the order of last reports: the first is the quietest.
    this.#drop(id)
    const endpoints = report.clusters.reduce((n, c) => n + c.endpoints.length, 0)
    while (
      this.#instances.size > 0 &&
      (this.#instances.size >= this.#maxInstances || this.#endpointsHeld + endpoints > this.#maxEndpoints)
    ) {
      const oldest = this.#instances.keys().next().value as string
      this.#drop(oldest)
      this.#log(
        `traffic: at the cap of ${this.#maxInstances} instances or ${this.#maxEndpoints} cluster endpoints; dropped ${oldest}, the instance quiet longest`,
      )
    }
    this.#instances.set(id, {
      instance: report.instance,
      workload: report.workload,
      clusters: report.clusters,
      intervalMs: report.intervalMs,
      reportedAtMs: nowMs,
    })
    this.#endpointsHeld += endpoints
  }

  #drop(id: string): void {
    const entry = this.#instances.get(id)
    if (!entry) return
    this.#instances.delete(id)
    this.#endpointsHeld -= entry.clusters.reduce((n, c) => n + c.endpoints.length, 0)
  }

  /**
   * Each edge's sums over the buckets that started in the last `windowMs` (at most the whole
   * window). The whole window is kept summed; the objects are the window's own: read, do not keep.
   */
  edges(nowMs: number, windowMs: number = this.windowMs): readonly WindowEdge[] {
    this.#expire(nowMs)
    if (windowMs >= this.windowMs) return [...this.#totals.values()]
    const sums = new Map<string, WindowEdge>()
    const from =
      this.#startOf(nowMs) - Math.ceil(Math.min(windowMs, this.windowMs) / this.bucketMs) * this.bucketMs
    for (const bucket of this.#buckets) {
      if (!(bucket.startMs > from) || bucket.startMs > nowMs) continue
      for (const [key, e] of bucket.edges) {
        let sum = sums.get(key)
        if (!sum) {
          sum = emptyEdge(e)
          sums.set(key, sum)
        }
        addInto(sum, e)
      }
    }
    return [...sums.values()]
  }

  /**
   * The latest clusters of each instance still alive: watching (`connected`) or heard from within
   * a grace period. The others are dropped for good.
   */
  instances(nowMs: number, connected: (namespace: string, instance: string) => boolean): InstanceClusters[] {
    for (const [id, entry] of this.#instances) {
      const graceMs = Math.max(LAPSE_GRACE_MS, 3 * entry.intervalMs)
      if (!connected(entry.workload.namespace, entry.instance) && nowMs - entry.reportedAtMs > graceMs)
        this.#drop(id)
    }
    return [...this.#instances.values()]
  }

  /** Empties the buckets that fell out of the window, so that the cap counts only live edges. */
  #expire(nowMs: number): void {
    const oldest = this.#startOf(nowMs) - this.windowMs
    for (const bucket of this.#buckets)
      if (bucket.startMs <= oldest && bucket.edges.size > 0) this.#empty(bucket)
  }

  #empty(bucket: Bucket): void {
    for (const [key, e] of bucket.edges) {
      const n = (this.#edgeBuckets.get(key) ?? 1) - 1
      if (n === 0) {
        this.#edgeBuckets.delete(key)
        this.#totals.delete(key)
      } else {
        this.#edgeBuckets.set(key, n)
        const total = this.#totals.get(key)
        if (total) addInto(total, e, -1)
      }
    }
    bucket.edges.clear()
  }

  #startOf(nowMs: number): number {
    return Math.floor(nowMs / this.bucketMs) * this.bucketMs
  }

  /** The bucket for `nowMs`, emptied first when it last held an older interval. */
  #current(nowMs: number): Bucket {
    const startMs = this.#startOf(nowMs)
    const bucket = this.#buckets[(startMs / this.bucketMs) % this.#buckets.length] as Bucket
    if (bucket.startMs !== startMs) {
      this.#empty(bucket)
      bucket.startMs = startMs
      if (this.#refusedEdges > 0) {
        this.#log(
          `traffic: ${this.#refusedEdges} edge report(s) refused at the cap while the last bucket filled`,
        )
        this.#refusedEdges = 0
      }
    }
    return bucket
  }
}
