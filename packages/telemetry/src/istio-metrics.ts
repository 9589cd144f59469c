import type { Registry } from 'prom-client'
import { ISTIO_LABELS } from './istio-labels.js'
import { CounterFamily, type CounterSeries, HistogramFamily, type HistogramSeries } from './series-metrics.js'
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
  readonly count: CounterSeries | undefined
  readonly duration: HistogramSeries | undefined
  readonly requestBytes: HistogramSeries | undefined
  readonly responseBytes: HistogramSeries | undefined
}

// A bound on cached series: past it the cache starts over, so that a flood of distinct label
// values (a misbehaving peer header) costs memory only in prom-client, as it would in Envoy.
const MAX_CACHED = 10_000

/**
 * Istio's four request metrics in one registry: `istio_requests_total`,
 * `istio_request_duration_milliseconds`, `istio_request_bytes`, `istio_response_bytes`, with
 * Istio's standard labels. Recording a request finds its series once per distinct label set and
 * caches them by a key the caller builds from values it has precomputed, so that the steady
 * state is a map probe and four additions (series-metrics.ts says why not prom-client's own).
 */
export class IstioMetrics {
  readonly #requests: CounterFamily
  readonly #duration: HistogramFamily
  readonly #requestBytes: HistogramFamily
  readonly #responseBytes: HistogramFamily
  readonly #cache = new Map<string, Series>()
  #policy: Readonly<Record<Reporter, ReporterPolicy>> | undefined

  constructor(registry: Registry) {
    const labels = [...ISTIO_LABELS]
    this.#requests = new CounterFamily(
      registry,
      'istio_requests_total',
      'Requests handled, by the client (reporter="source") and the server (reporter="destination") of each call',
      labels,
    )
    this.#duration = new HistogramFamily(
      registry,
      'istio_request_duration_milliseconds',
      'Request duration in milliseconds, from the first request byte to the last response byte',
      labels,
      DURATION_BUCKETS_MS,
    )
    this.#requestBytes = new HistogramFamily(
      registry,
      'istio_request_bytes',
      'Request body size in bytes',
      labels,
      SIZE_BUCKETS_BYTES,
    )
    this.#responseBytes = new HistogramFamily(
      registry,
      'istio_response_bytes',
      'Response body size in bytes',
      labels,
      SIZE_BUCKETS_BYTES,
    )
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
        if (now && !previous?.[reporter].metrics[name].disabled) metric.remove((l) => l.reporter === reporter)
      }
    }
  }

  #byName(): [StandardMetric, CounterFamily | HistogramFamily][] {
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
      count: m.REQUEST_COUNT.disabled ? undefined : this.#requests.labels(values(m.REQUEST_COUNT.tags)),
      duration: m.REQUEST_DURATION.disabled
        ? undefined
        : this.#duration.labels(values(m.REQUEST_DURATION.tags)),
      requestBytes: m.REQUEST_SIZE.disabled
        ? undefined
        : this.#requestBytes.labels(values(m.REQUEST_SIZE.tags)),
      responseBytes: m.RESPONSE_SIZE.disabled
        ? undefined
        : this.#responseBytes.labels(values(m.RESPONSE_SIZE.tags)),
    }
  }
}
