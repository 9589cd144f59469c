import { Counter, Histogram, type Registry } from 'prom-client'
import { ISTIO_LABELS } from './istio-labels.js'
import type { Reporter, ReporterPolicy, StandardMetric, TagAttributes } from './telemetry-policy.js'

/** Envoy's default histogram buckets, which Istio keeps for `istio_request_duration_milliseconds`. */
export const DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
]

/** Decades from 1 byte to 1 GB, as Istio exports its request and response size distributions. */
export const SIZE_BUCKETS_BYTES: readonly number[] = [
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
]

type Labels = readonly string[]

/** The label-bound children of one series: what recording a request touches. */
interface Series {
  readonly count: Counter.Internal | undefined
  readonly duration: Histogram.Internal<string> | undefined
  readonly requestBytes: Histogram.Internal<string> | undefined
  readonly responseBytes: Histogram.Internal<string> | undefined
}

// A bound on cached series: past it the cache starts over, so that a flood of distinct label
// values (a misbehaving peer header) costs memory only in prom-client, as it would in Envoy.
const MAX_CACHED = 10_000

/**
 * Istio's four request metrics in one registry: `istio_requests_total`,
 * `istio_request_duration_milliseconds`, `istio_request_bytes`, `istio_response_bytes`, with
 * Istio's standard labels. Recording a request binds the children once per distinct series
 * (prom-client's `labels(...)`) and caches them by a key the caller builds from values it has
 * precomputed, so that the steady state is a map probe and four increments.
 */
export class IstioMetrics {
  readonly #requests: Counter<string>
  readonly #duration: Histogram<string>
  readonly #requestBytes: Histogram<string>
  readonly #responseBytes: Histogram<string>
  readonly #cache = new Map<string, Series>()
  #policy: Readonly<Record<Reporter, ReporterPolicy>> | undefined

  constructor(registry: Registry) {
    const labelNames = [...ISTIO_LABELS]
    this.#requests = new Counter({
      name: 'istio_requests_total',
      help: 'Requests handled, by the client (reporter="source") and the server (reporter="destination") of each call',
      labelNames,
      registers: [registry],
    })
    this.#duration = new Histogram({
      name: 'istio_request_duration_milliseconds',
      help: 'Request duration in milliseconds, from the first request byte to the last response byte',
      labelNames,
      buckets: [...DURATION_BUCKETS_MS],
      registers: [registry],
    })
    this.#requestBytes = new Histogram({
      name: 'istio_request_bytes',
      help: 'Request body size in bytes',
      labelNames,
      buckets: [...SIZE_BUCKETS_BYTES],
      registers: [registry],
    })
    this.#responseBytes = new Histogram({
      name: 'istio_response_bytes',
      help: 'Response body size in bytes',
      labelNames,
      buckets: [...SIZE_BUCKETS_BYTES],
      registers: [registry],
    })
  }

  /** Telemetry resources changed: the cached series were bound under the old overrides. */
  setPolicy(policy: Readonly<Record<Reporter, ReporterPolicy>>): void {
    if (policy === this.#policy) return
    const previous = this.#policy
    this.#policy = policy
    this.#cache.clear()
    // A metric a Telemetry resource disables disappears from the scrape, as Envoy stops exporting it.
    for (const reporter of ['source', 'destination'] as const) {
      for (const [name, metric] of this.#byName()) {
        const now = policy[reporter].metrics[name].disabled
        if (now && !previous?.[reporter].metrics[name].disabled) void removeSeries(metric, reporter)
      }
    }
  }

  #byName(): [StandardMetric, Counter<string> | Histogram<string>][] {
    return [
      ['REQUEST_COUNT', this.#requests],
      ['REQUEST_DURATION', this.#duration],
      ['REQUEST_SIZE', this.#requestBytes],
      ['RESPONSE_SIZE', this.#responseBytes],
    ]
  }

  /**
   * Records one request. `key` identifies `labels` (the caller derives it from ids of the peers
   * and the outcome); `attributes` feeds tag overrides that read the request, when there are any.
   */
  record(
    policy: ReporterPolicy,
    key: string,
    labels: () => Labels,
    attributes: TagAttributes | undefined,
    durationMs: number,
    requestBytes: number,
    responseBytes: number,
  ): void {
    let series = this.#cache.get(key)
    if (!series) {
      series = this.#bind(policy, labels(), attributes)
      // Overrides that read the request make the series depend on more than the key.
      if (!policy.dynamicTags) {
        if (this.#cache.size >= MAX_CACHED) this.#cache.clear()
        this.#cache.set(key, series)
      }
    }
    series.count?.inc()
    series.duration?.observe(durationMs)
    series.requestBytes?.observe(requestBytes)
    series.responseBytes?.observe(responseBytes)
  }

  #bind(policy: ReporterPolicy, labels: Labels, attributes: TagAttributes | undefined): Series {
    const m = policy.metrics
    const values = (tags: ReporterPolicy['metrics']['REQUEST_COUNT']['tags']): string[] => {
      const out = [...labels]
      for (const tag of tags) {
        out[tag.label] =
          tag.kind === 'remove'
            ? ''
            : tag.kind === 'literal'
              ? tag.value
              : attributes
                ? tag.read(attributes)
                : ''
      }
      return out
    }
    return {
      count: m.REQUEST_COUNT.disabled ? undefined : this.#requests.labels(...values(m.REQUEST_COUNT.tags)),
      duration: m.REQUEST_DURATION.disabled
        ? undefined
        : this.#duration.labels(...values(m.REQUEST_DURATION.tags)),
      requestBytes: m.REQUEST_SIZE.disabled
        ? undefined
        : this.#requestBytes.labels(...values(m.REQUEST_SIZE.tags)),
      responseBytes: m.RESPONSE_SIZE.disabled
        ? undefined
        : this.#responseBytes.labels(...values(m.RESPONSE_SIZE.tags)),
    }
  }
}

/** Removes every series of one reporter from a metric. */
async function removeSeries(metric: Counter<string> | Histogram<string>, reporter: Reporter): Promise<void> {
  const { values } = await metric.get()
  const seen = new Set<string>()
  for (const { labels } of values) {
    if (labels.reporter !== reporter) continue
    const { le: _bucket, ...series } = labels as Record<string, string | number>
    const key = JSON.stringify(series)
    if (seen.has(key)) continue
    seen.add(key)
    metric.remove(series)
  }
}
