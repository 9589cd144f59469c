import type { Telemetry } from '@weft/config'
import { type AccessLogFilter, compileAccessLogFilter } from './access-log-filter.js'
import { ISTIO_LABELS, type IstioLabel, LABEL_INDEX } from './istio-labels.js'

/** Who reports: `source` is the client side of a call (Istio's CLIENT mode), `destination` the server side. */
export type Reporter = 'source' | 'destination'

/** The four standard HTTP/gRPC metrics a Telemetry resource can override. */
export type StandardMetric = 'REQUEST_COUNT' | 'REQUEST_DURATION' | 'REQUEST_SIZE' | 'RESPONSE_SIZE'
export const STANDARD_METRICS: readonly StandardMetric[] = [
  'REQUEST_COUNT',
  'REQUEST_DURATION',
  'REQUEST_SIZE',
  'RESPONSE_SIZE',
]

/** What one request offers a tag override's value expression. */
export interface TagAttributes {
  readonly method: string
  readonly host: string
  readonly scheme: string
  readonly protocol: string
  readonly header: (name: string) => string | undefined
  readonly responseCode: number
  readonly destinationPort: number | undefined
}

/** One tag override, compiled: remove the label (Prometheus drops empty labels), or set it. */
export type TagOverride =
  | { readonly label: number; readonly kind: 'remove' }
  | { readonly label: number; readonly kind: 'literal'; readonly value: string }
  | { readonly label: number; readonly kind: 'attribute'; readonly read: (a: TagAttributes) => string }

export interface MetricPolicy {
  readonly disabled: boolean
  readonly tags: readonly TagOverride[]
}

export interface TracingPolicy {
  /** `randomSamplingPercentage`; undefined leaves sampling to the application's OpenTelemetry sampler. */
  readonly samplingPercent: number | undefined
  readonly reportSpans: boolean
}

export interface AccessLogPolicy {
  /** undefined: every request is logged. */
  readonly filter: AccessLogFilter | undefined
}

/** The Telemetry resources governing one workload, merged and compiled for one reporter. */
export interface ReporterPolicy {
  readonly metrics: Readonly<Record<StandardMetric, MetricPolicy>>
  /** Whether any override reads the request: series keys then include those values. */
  readonly dynamicTags: boolean
  readonly tracing: TracingPolicy
  /** undefined: no access log (Istio's default). */
  readonly accessLog: AccessLogPolicy | undefined
}

export interface CompiledTelemetryPolicy {
  readonly source: ReporterPolicy
  readonly destination: ReporterPolicy
  /** Parts of the resources Weft does not apply, as `Telemetry/ns/name: field: why`. */
  readonly ignored: readonly string[]
}

type Mode = 'CLIENT_AND_SERVER' | 'CLIENT' | 'SERVER'

function reporters(mode: Mode | undefined): Reporter[] {
  if (mode === 'CLIENT') return ['source']
  if (mode === 'SERVER') return ['destination']
  return ['source', 'destination']
}

const QUOTED = /^(['"])(.*)\1$/
const HEADER = /^request\.headers\[\s*(['"])([^'"]+)\1\s*\]$/

/** Value expressions Weft evaluates: a string literal, or one of these attributes. */
const ATTRIBUTES: Readonly<Record<string, (a: TagAttributes) => string>> = {
  'request.method': (a) => a.method,
  'request.host': (a) => a.host,
  'request.scheme': (a) => a.scheme,
  'request.protocol': (a) => a.protocol,
  'response.code': (a) => String(a.responseCode),
  'destination.port': (a) => (a.destinationPort === undefined ? '' : String(a.destinationPort)),
}

type TagValue =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'attribute'; readonly read: (a: TagAttributes) => string }

function compileValue(expression: string): TagValue | undefined {
  const text = expression.trim()
  const quoted = QUOTED.exec(text)
  if (quoted) return { kind: 'literal', value: quoted[2] as string }
  const attribute = ATTRIBUTES[text]
  if (attribute) return { kind: 'attribute', read: attribute }
  const header = HEADER.exec(text)
  if (header) {
    const name = (header[2] as string).toLowerCase()
    return { kind: 'attribute', read: (a) => a.header(name) ?? '' }
  }
  return undefined
}

interface MutableMetric {
  disabled: boolean
  tags: Map<number, TagOverride>
}

interface MutableReporter {
  metrics: Record<StandardMetric, MutableMetric>
  samplingPercent: number | undefined
  reportSpans: boolean
  accessLog: { enabled: boolean; expression: string | undefined } | undefined
}

function emptyReporter(): MutableReporter {
  const metric = (): MutableMetric => ({ disabled: false, tags: new Map() })
  return {
    metrics: {
      REQUEST_COUNT: metric(),
      REQUEST_DURATION: metric(),
      REQUEST_SIZE: metric(),
      RESPONSE_SIZE: metric(),
    },
    samplingPercent: undefined,
    reportSpans: true,
    accessLog: undefined,
  }
}

/**
 * Istio's order of precedence: the root namespace's resources, then the workload's namespace's
 * (those without a selector first), then the ones whose selector picks the workload; a later
 * (more specific) one overrides an earlier field by field. Within one level, by name.
 */
function ordered(resources: readonly Telemetry[], rootNamespace: string): Telemetry[] {
  const level = (t: Telemetry) =>
    t.metadata.namespace === rootNamespace ? 0 : t.spec.selector?.matchLabels ? 2 : 1
  return [...resources].sort((a, b) => level(a) - level(b) || a.metadata.name.localeCompare(b.metadata.name))
}

/**
 * Compiles the Telemetry resources that govern one workload (`snapshot.policiesFor(...).telemetry`)
 * into what each request reads. Merge rules, as Istio's: metric overrides accumulate, a later
 * `disabled` replacing an earlier one and a later tag override replacing an earlier one for the
 * same tag; tracing and access-log settings are taken field by field from the most specific
 * resource that sets them. Call once per snapshot.
 */
export function compileTelemetryPolicy(
  resources: readonly Telemetry[],
  rootNamespace: string,
): CompiledTelemetryPolicy {
  const out: Record<Reporter, MutableReporter> = { source: emptyReporter(), destination: emptyReporter() }
  const ignored: string[] = []
  for (const resource of ordered(resources, rootNamespace)) {
    const name = `Telemetry/${resource.metadata.namespace}/${resource.metadata.name}`
    const spec = resource.spec
    spec.metrics?.forEach((metrics, i) => {
      metrics.overrides?.forEach((override, j) => {
        const at = `${name}: metrics[${i}].overrides[${j}]`
        const match = override.match
        if (match?.customMetric) {
          ignored.push(`${at}.match.customMetric: Weft reports only the standard metrics`)
          return
        }
        const metric = match?.metric ?? 'ALL_METRICS'
        const targets: StandardMetric[] =
          metric === 'ALL_METRICS' ? [...STANDARD_METRICS] : STANDARD_METRICS.filter((m) => m === metric)
        if (targets.length === 0) {
          ignored.push(
            `${at}.match.metric: ${metric} is a TCP or gRPC-message metric, which Weft does not report`,
          )
          return
        }
        const tags: TagOverride[] = []
        for (const [tag, op] of Object.entries(override.tagOverrides ?? {})) {
          if (!(ISTIO_LABELS as readonly string[]).includes(tag)) {
            ignored.push(`${at}.tagOverrides.${tag}: only Istio's standard labels can be overridden`)
            continue
          }
          const label = LABEL_INDEX[tag as IstioLabel]
          if (op?.operation === 'REMOVE') {
            tags.push({ label, kind: 'remove' })
            continue
          }
          const value = compileValue(op?.value ?? '')
          if (!value) {
            ignored.push(
              `${at}.tagOverrides.${tag}.value: Weft evaluates string literals and ${Object.keys(ATTRIBUTES).join(', ')}, request.headers['name']`,
            )
            continue
          }
          tags.push({ label, ...value })
        }
        for (const reporter of reporters(match?.mode)) {
          for (const m of targets) {
            const state = out[reporter].metrics[m]
            if (override.disabled != null) state.disabled = override.disabled
            for (const tag of tags) state.tags.set(tag.label, tag)
          }
        }
      })
    })
    spec.tracing?.forEach((tracing, i) => {
      if (tracing.customTags) ignored.push(`${name}: tracing[${i}].customTags: not applied`)
      for (const reporter of reporters(tracing.match?.mode)) {
        const state = out[reporter]
        if (tracing.randomSamplingPercentage != null) state.samplingPercent = tracing.randomSamplingPercentage
        if (tracing.disableSpanReporting != null) state.reportSpans = !tracing.disableSpanReporting
      }
    })
    spec.accessLogging?.forEach((logging) => {
      for (const reporter of reporters(logging.match?.mode)) {
        out[reporter].accessLog = {
          enabled: logging.disabled !== true,
          expression: logging.filter?.expression,
        }
      }
    })
  }
  const filters = new Map<string, AccessLogFilter>()
  const finish = (r: MutableReporter): ReporterPolicy => {
    const metric = (m: StandardMetric): MetricPolicy =>
      Object.freeze({ disabled: r.metrics[m].disabled, tags: [...r.metrics[m].tags.values()] })
    const metrics: Record<StandardMetric, MetricPolicy> = {
      REQUEST_COUNT: metric('REQUEST_COUNT'),
      REQUEST_DURATION: metric('REQUEST_DURATION'),
      REQUEST_SIZE: metric('REQUEST_SIZE'),
      RESPONSE_SIZE: metric('RESPONSE_SIZE'),
    }
    let accessLog: AccessLogPolicy | undefined
    if (r.accessLog?.enabled) {
      const expression = r.accessLog.expression
      let filter: AccessLogFilter | undefined
      if (expression !== undefined) {
        filter = filters.get(expression)
        if (!filter) {
          filter = compileAccessLogFilter(expression)
          filters.set(expression, filter)
        }
      }
      accessLog = { filter }
    }
    return Object.freeze({
      metrics: Object.freeze(metrics),
      dynamicTags: STANDARD_METRICS.some((m) => metrics[m].tags.some((t) => t.kind === 'attribute')),
      tracing: Object.freeze({ samplingPercent: r.samplingPercent, reportSpans: r.reportSpans }),
      accessLog,
    })
  }
  return Object.freeze({
    source: finish(out.source),
    destination: finish(out.destination),
    ignored: Object.freeze(ignored),
  })
}
