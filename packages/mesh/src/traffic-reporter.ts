import type { ClusterHealth } from '@weft/client'
import { type EdgeDelta, type EdgeWorkload, runUntraced } from '@weft/telemetry'
import { MeshOptionsError } from './errors.js'

/** `POST /api/v1/reports`: what one instance saw since its previous report (docs/api.md). */
export interface TrafficReport {
  readonly instance: string
  readonly workload: EdgeWorkload
  readonly intervalMs: number
  readonly edges: readonly EdgeDelta[]
  readonly clusters: readonly ClusterHealth[]
}

export interface TrafficReporterOptions {
  readonly intervalMs: number
  /** The instance id the control-plane client watches under. */
  readonly instance: string
  /** `Telemetry.edges`: the per-edge aggregates and this workload's names. */
  readonly edges: { readonly workload: EdgeWorkload; drain(): EdgeDelta[] }
  /** What this instance's clusters see (`clusterHealth`). */
  readonly clusters: () => readonly ClusterHealth[]
  /** Sends one report; resolves with the HTTP status. */
  readonly send: (report: TrafficReport) => Promise<number>
}

export const DEFAULT_REPORT_INTERVAL_MS = 5000
const MIN_REPORT_INTERVAL_MS = 100
const MAX_REPORT_INTERVAL_MS = 300_000
// A report that cannot be answered sooner is abandoned, so that closing the mesh never hangs on it.
const FLUSH_TIMEOUT_MS = 1000

/**
 * The report interval from `createMesh({ reportIntervalMs })` or `WEFT_REPORT_INTERVAL_MS`:
 * 0 turns reporting off; otherwise whole milliseconds from 100 ms to 5 minutes.
 */
export function reportIntervalMs(option: number | undefined, env: string | undefined): number {
  const from = option !== undefined ? 'reportIntervalMs' : 'WEFT_REPORT_INTERVAL_MS'
  const value = option ?? (env === undefined || env.trim() === '' ? DEFAULT_REPORT_INTERVAL_MS : Number(env))
  if (
    value !== 0 &&
    !(Number.isInteger(value) && value >= MIN_REPORT_INTERVAL_MS && value <= MAX_REPORT_INTERVAL_MS)
  ) {
    throw new MeshOptionsError(
      `${from} must be a whole number of milliseconds from ${MIN_REPORT_INTERVAL_MS} to ${MAX_REPORT_INTERVAL_MS}, or 0 to stop reporting traffic; got ${option ?? env}`,
    )
  }
  return value
}

/**
 * Reports this instance's traffic to the control plane, the way xDS load reporting does: one
 * small message per interval whatever the traffic (per-edge counts, errors, a latency
 * histogram, and what its clusters see), none when nothing happened and no endpoint's health
 * changed. It never throws into the application: a report the control plane does not take is
 * dropped, and the next one carries the next interval.
 */
export class TrafficReporter {
  readonly #options: TrafficReporterOptions
  #timer: NodeJS.Timeout | undefined
  #sending: Promise<void> | undefined
  /** The clusters the control plane last took, as JSON: unchanged ones are not a reason to report. */
  #reportedClusters: string | undefined = '[]'

  constructor(options: TrafficReporterOptions) {
    this.#options = options
  }

  start(): void {
    if (this.#timer || this.#options.intervalMs === 0) return
    this.#timer = setInterval(() => this.#tick(), this.#options.intervalMs)
    this.#timer.unref()
  }

  /** Stops reporting; what came since the last report is sent first, waiting at most a second. */
  async stop(): Promise<void> {
    if (!this.#timer) return
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.#sending
    this.#tick()
    let timeout: NodeJS.Timeout | undefined
    await Promise.race([
      this.#sending,
      new Promise((resolve) => {
        timeout = setTimeout(resolve, FLUSH_TIMEOUT_MS)
      }),
    ])
    clearTimeout(timeout)
  }

  #tick(): void {
    // A report still on its way: this interval's counts wait in the aggregator for the next one.
    if (this.#sending) return
    let report: TrafficReport
    let clusters: string
    try {
      const o = this.#options
      const edges = o.edges.drain()
      const health = o.clusters()
      clusters = JSON.stringify(health)
      if (edges.length === 0 && clusters === this.#reportedClusters) return
      report = {
        instance: o.instance,
        workload: o.edges.workload,
        intervalMs: o.intervalMs,
        edges,
        clusters: health,
      }
    } catch {
      return
    }
    this.#sending = this.#send(report, clusters).finally(() => {
      this.#sending = undefined
    })
  }

  async #send(report: TrafficReport, clusters: string): Promise<void> {
    try {
      const status = await runUntraced(() => this.#options.send(report))
      this.#reportedClusters = status >= 200 && status < 300 ? clusters : undefined
    } catch {
      // The control plane is away: the clusters go again with the next report.
      this.#reportedClusters = undefined
    }
  }
}
