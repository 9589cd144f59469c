import type { PeerLabels } from './istio-labels.js'
import { DURATION_BUCKETS_MS } from './istio-metrics.js'

/** One side of an edge: the workload labels Istio's metrics carry (`unknown` when not known). */
export interface EdgePeer {
  readonly namespace: string
  readonly workload: string
  readonly app: string
  readonly version: string
}

/** The called side: its workload and the service host that was called. */
export interface EdgeDestination extends EdgePeer {
  readonly service: string
}

/** This workload, as its reports name it. */
export interface EdgeWorkload extends EdgePeer {
  readonly service: string
}

/** What this instance saw of one edge since the previous drain (docs/api.md, the report format). */
export interface EdgeDelta {
  readonly reporter: 'source' | 'destination'
  readonly source: EdgePeer
  readonly destination: EdgeDestination
  readonly protocol: 'http' | 'grpc'
  readonly mtls: boolean
  readonly requests: number
  /** HTTP 5xx or no response; for gRPC, a status other than 0. */
  readonly errors: number
  /** Requests per HTTP status; for gRPC, per gRPC status. */
  readonly codes: Record<string, number>
  /** Requests per Envoy response flag. */
  readonly flags: Record<string, number>
  /** Requests per `DURATION_BUCKETS_MS` bound (not cumulative), then one for those above every bound. */
  readonly durationBuckets: number[]
}

/** How one request ended, in the terms the metrics already computed: what a new cell is made of. */
export interface EdgeOutcome {
  readonly reporter: 'source' | 'destination'
  readonly source: PeerLabels
  readonly destination: PeerLabels
  readonly service: string
  readonly protocol: 'http' | 'grpc'
  readonly mtls: boolean
  /** The HTTP status, 0 when no response came. */
  readonly code: number
  /** The gRPC status as text, `''` for plain HTTP. */
  readonly grpcStatus: string
  /** Envoy's flags joined by commas, `-` for none. */
  readonly flags: string
}

interface EdgeState {
  readonly reporter: 'source' | 'destination'
  readonly source: EdgePeer
  readonly destination: EdgeDestination
  readonly protocol: 'http' | 'grpc'
  readonly mtls: boolean
  readonly buckets: Float64Array
}

/** The requests of one outcome (code, flags) on one edge: what a request key of the metrics names. */
interface Cell {
  readonly edge: EdgeState
  readonly code: string
  readonly error: boolean
  readonly flags: readonly string[]
  count: number
}

// Distinct request keys held at once; past it new outcomes go uncounted until the next drain
// frees idle ones, so that a caller inventing peer labels cannot grow the aggregator without bound.
const MAX_CELLS = 10_000

function peer(labels: PeerLabels): EdgePeer {
  return {
    namespace: labels.namespace,
    workload: labels.workload,
    app: labels.app,
    version: labels.version,
  }
}

function edgeKey(o: EdgeOutcome): string {
  const s = o.source
  const d = o.destination
  return [
    o.reporter,
    s.namespace,
    s.workload,
    s.app,
    s.version,
    o.service,
    d.namespace,
    d.workload,
    d.app,
    d.version,
    o.protocol,
    o.mtls,
  ].join('\u0000')
}

/**
 * Per-edge aggregates for the control plane's service graph, as xDS load reporting sends them:
 * fed at the end of every call by both reporters with the key their metrics already built, so
 * that a request costs one map probe and a few additions; `drain()` hands over what came since
 * the previous drain and starts again from zero.
 */
export class EdgeAggregator {
  readonly workload: EdgeWorkload
  readonly #cells = new Map<string, Cell>()
  readonly #edges = new Map<string, EdgeState>()
  readonly #bounds: readonly number[] = DURATION_BUCKETS_MS

  constructor(workload: EdgeWorkload) {
    this.workload = Object.freeze({ ...workload })
  }

  /** Counts one request under `key`; false when the key is new here: then call `add`. */
  record(key: string, durationMs: number): boolean {
    const cell = this.#cells.get(key)
    if (cell === undefined) return false
    cell.count++
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && durationMs > (bounds[i] as number)) i++
    const buckets = cell.edge.buckets
    buckets[i] = (buckets[i] as number) + 1
    return true
  }

  /** Counts the first request of a key `record` did not know, with what the key stands for. */
  add(key: string, outcome: EdgeOutcome, durationMs: number): void {
    if (this.#cells.size >= MAX_CELLS) return
    const id = edgeKey(outcome)
    let edge = this.#edges.get(id)
    if (!edge) {
      edge = {
        reporter: outcome.reporter,
        source: peer(outcome.source),
        destination: { service: outcome.service, ...peer(outcome.destination) },
        protocol: outcome.protocol,
        mtls: outcome.mtls,
        buckets: new Float64Array(this.#bounds.length + 1),
      }
      this.#edges.set(id, edge)
    }
    const grpc = outcome.protocol === 'grpc'
    this.#cells.set(key, {
      edge,
      code: grpc && outcome.grpcStatus !== '' ? outcome.grpcStatus : String(outcome.code),
      error: grpc ? outcome.grpcStatus !== '0' : outcome.code >= 500 || outcome.code === 0,
      flags: outcome.flags === '-' ? [] : outcome.flags.split(','),
      count: 0,
    })
    this.record(key, durationMs)
  }

  /** The edges with traffic since the previous drain, and their counts; everything starts again at zero. */
  drain(): EdgeDelta[] {
    const out = new Map<EdgeState, EdgeDelta & { requests: number; errors: number }>()
    for (const [key, cell] of this.#cells) {
      // A key quiet for a whole interval is let go: a snapshot change gives its peers new ids.
      if (cell.count === 0) {
        this.#cells.delete(key)
        continue
      }
      const edge = cell.edge
      let delta = out.get(edge)
      if (!delta) {
        delta = {
          reporter: edge.reporter,
          source: edge.source,
          destination: edge.destination,
          protocol: edge.protocol,
          mtls: edge.mtls,
          requests: 0,
          errors: 0,
          codes: {},
          flags: {},
          durationBuckets: Array.from(edge.buckets),
        }
        edge.buckets.fill(0)
        out.set(edge, delta)
      }
      const n = cell.count
      cell.count = 0
      delta.requests += n
      if (cell.error) delta.errors += n
      delta.codes[cell.code] = (delta.codes[cell.code] ?? 0) + n
      for (const flag of cell.flags) delta.flags[flag] = (delta.flags[flag] ?? 0) + n
    }
    for (const [id, edge] of this.#edges) if (!out.has(edge)) this.#edges.delete(id)
    return [...out.values()]
  }
}
