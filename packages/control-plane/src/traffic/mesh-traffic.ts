import type { ObservedTraffic, StateSnapshot } from '../config-views.js'
import type { ConfigStore } from '../store/config-store.js'
import type { WorkloadStatuses } from '../workload-status.js'
import { GraphStream, type GraphView } from './graph-stream.js'
import { preferReporters, type ServiceGraph, serviceGraph } from './service-graph.js'
import type { TrafficReport } from './traffic-report.js'
import { TrafficWindow, type TrafficWindowOptions } from './traffic-window.js'

export interface MeshTrafficOptions extends TrafficWindowOptions {
  readonly store: ConfigStore
  readonly views: StateSnapshot
  readonly statuses: WorkloadStatuses
  readonly now?: () => number
}

/**
 * What the control plane knows of the mesh's traffic: the reports in a rolling window, and the
 * views made of them (the service graph, its live stream, the traffic part of a service's
 * description), each read with the config and the instances as they are now.
 */
export class MeshTraffic {
  readonly window: TrafficWindow
  readonly stream: GraphStream
  readonly #options: MeshTrafficOptions
  readonly #now: () => number
  readonly #startedAtMs: number

  constructor(options: MeshTrafficOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.#startedAtMs = this.#now()
    this.window = new TrafficWindow(options)
    this.stream = new GraphStream({
      build: (view) => this.graph(view),
      ...(options.log ? { log: options.log } : {}),
    })
  }

  report(report: TrafficReport): void {
    this.window.add(report, this.#now())
    this.stream.changed()
  }

  /** The window's edges (one reporter per edge) and the clusters of the instances still alive. */
  observed(windowMs?: number): ObservedTraffic {
    const nowMs = this.#now()
    return {
      nowMs,
      edges: preferReporters(this.window.edges(nowMs, windowMs)),
      instances: this.#instances(nowMs),
    }
  }

  graph(view: GraphView): ServiceGraph {
    const windowMs = view.windowSeconds * 1000
    const { nowMs, edges, instances } = this.observed(windowMs)
    const state = this.#options.store.state()
    const bucketMs = this.window.bucketMs
    // The buckets summed start up to one bucket before the window; before the control plane's
    // start there was nothing to count.
    const coveredMs = Math.min(
      Math.ceil(windowMs / bucketMs) * bucketMs - bucketMs + (nowMs % bucketMs),
      nowMs - this.#startedAtMs,
    )
    return serviceGraph({
      version: state.revision,
      nowMs,
      windowSeconds: view.windowSeconds,
      spanSeconds: coveredMs / 1000,
      edges,
      snapshot: this.#options.views.of(state),
      endpoints: [...state.endpoints.values()].map((e) => e.endpoint),
      statuses: this.#options.statuses.list(),
      instances,
      ...(view.namespace !== undefined ? { namespace: view.namespace } : {}),
    })
  }

  close(): void {
    this.stream.close()
  }

  #instances(nowMs: number) {
    const watching = new Set(
      this.#options.statuses
        .list()
        .filter((s) => s.connected)
        .map((s) => `${s.namespace}/${s.instance}`),
    )
    return this.window.instances(nowMs, (namespace, instance) => watching.has(`${namespace}/${instance}`))
  }
}
