import type { Metric, Registry } from 'prom-client'

/**
 * Counters and histograms that keep each series as plain numbers behind a label-value key, and
 * hand prom-client's Registry the same export shape its own metrics do. prom-client's
 * label-bound children hash every label on every `inc`/`observe`; with Istio's nineteen labels
 * that was most of a request's telemetry cost. Here a request touches one map probe (done once
 * per distinct series by the caller's cache) and a few additions.
 */

type LabelValues = readonly string[]

interface ExportValue {
  value: number
  labels: Record<string, string | number>
  metricName?: string
  sharedLabels?: Record<string, string | number>
}

interface ExportedMetric {
  name: string
  help: string
  type: 'counter' | 'histogram'
  values: ExportValue[]
  aggregator: 'sum'
}

function labelsOf(names: readonly string[], values: LabelValues): Record<string, string> {
  const labels: Record<string, string> = {}
  names.forEach((name, i) => {
    labels[name] = values[i] ?? ''
  })
  return labels
}

function keyOf(values: LabelValues): string {
  return values.join('\u0000')
}

export class CounterSeries {
  value = 0
  readonly labels: Record<string, string>

  constructor(labels: Record<string, string>) {
    this.labels = labels
  }

  inc(by = 1): void {
    this.value += by
  }
}

export class HistogramSeries {
  readonly labels: Record<string, string>
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array
  sum = 0
  count = 0
  readonly #bounds: readonly number[]

  constructor(labels: Record<string, string>, bounds: readonly number[]) {
    this.labels = labels
    this.#bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(value: number): void {
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && value > (bounds[i] as number)) i++
    this.counts[i] = (this.counts[i] as number) + 1
    this.sum += value
    this.count++
  }
}

abstract class Family<S extends { labels: Record<string, string> }> {
  readonly name: string
  readonly help: string
  readonly labelNames: readonly string[]
  readonly aggregator = 'sum' as const
  protected readonly series = new Map<string, S>()

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    this.name = name
    this.help = help
    this.labelNames = labelNames
    // prom-client's Registry takes any object with its metrics' export shape.
    registry.registerMetric(this as unknown as Metric)
  }

  protected abstract create(labels: Record<string, string>): S

  /** The series for these label values (in `labelNames` order), made on first use. */
  labels(values: LabelValues): S {
    const key = keyOf(values)
    let s = this.series.get(key)
    if (!s) {
      s = this.create(labelsOf(this.labelNames, values))
      this.series.set(key, s)
    }
    return s
  }

  /** Drops every series whose labels match `test`. */
  remove(test: (labels: Readonly<Record<string, string>>) => boolean): void {
    for (const [key, s] of this.series) if (test(s.labels)) this.series.delete(key)
  }

  reset(): void {
    this.series.clear()
  }
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter' as const

  protected create(labels: Record<string, string>): CounterSeries {
    return new CounterSeries(labels)
  }

  async get(): Promise<ExportedMetric> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.series.values()].map((s) => ({ value: s.value, labels: { ...s.labels } })),
    }
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram' as const
  readonly buckets: readonly number[]

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    super(registry, name, help, labelNames)
    this.buckets = buckets
  }

  protected create(labels: Record<string, string>): HistogramSeries {
    return new HistogramSeries(labels, this.buckets)
  }

  /** For JSON readers (`getMetricsAsJSON`): every value's labels in one object, as prom-client's `get()`. */
  async get(): Promise<ExportedMetric> {
    const exported = await this.getForPromString()
    exported.values = exported.values.map(({ sharedLabels, labels, ...rest }) => ({
      ...rest,
      labels: { ...sharedLabels, ...labels },
    }))
    return exported
  }

  /** Cumulative buckets, `+Inf`, `_sum` and `_count` per series, as prom-client exports a histogram. */
  async getForPromString(): Promise<ExportedMetric> {
    const values: ExportValue[] = []
    const bucket = `${this.name}_bucket`
    for (const s of this.series.values()) {
      let total = 0
      this.buckets.forEach((le, i) => {
        total += s.counts[i] as number
        values.push({ value: total, labels: { le }, metricName: bucket, sharedLabels: s.labels })
      })
      values.push({ value: s.count, labels: { le: '+Inf' }, metricName: bucket, sharedLabels: s.labels })
      values.push({ value: s.sum, labels: {}, metricName: `${this.name}_sum`, sharedLabels: s.labels })
      values.push({ value: s.count, labels: {}, metricName: `${this.name}_count`, sharedLabels: s.labels })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}
