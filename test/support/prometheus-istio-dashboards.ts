// The PromQL of Istio's standard Grafana dashboards, verbatim, and what Grafana does to it before
// Prometheus sees it (template variables, `$__rate_interval`, `query_result` variables).
//
// Source: github.com/istio/istio, manifests/addons/dashboards/, at commit
// 86c9f01fd735fb01d8192f5bcaf0d424afb7f14c — `istio-service-dashboard.json` ("Istio Service
// Dashboard") and `istio-mesh-dashboard.gen.json` ("Istio Mesh Dashboard", generated from
// `istio-mesh.libsonnet`). Each expression below is a panel target's `expr` or a template
// variable's `query`, character for character.

/** Istio Service Dashboard: template variables (`query_result(<expr>)` and the regex Grafana applies). */
export const SERVICE_DASHBOARD_VARIABLES = {
  service: {
    query:
      'sum(istio_requests_total{}) by (destination_service) or sum(istio_tcp_sent_bytes_total{}) by (destination_service)',
    regex: /.*destination_service="([^"]*).*/,
  },
  srcns: {
    query:
      'sum(istio_requests_total{reporter=~"$qrep", destination_service="$service"}) by (source_workload_namespace) or sum(istio_tcp_sent_bytes_total{reporter=~"$qrep", destination_service="$service"}) by (source_workload_namespace)',
    regex: /.*namespace="([^"]*).*/,
  },
  srcwl: {
    query:
      'sum(istio_requests_total{reporter=~"$qrep", destination_service="$service", source_workload_namespace=~"$srcns"}) by (source_workload) or sum(istio_tcp_sent_bytes_total{reporter=~"$qrep", destination_service="$service", source_workload_namespace=~"$srcns"}) by (source_workload)',
    regex: /.*workload="([^"]*).*/,
  },
} as const

/** Istio Service Dashboard: panel targets. */
export const SERVICE_DASHBOARD = {
  /** "Client Request Volume" (requests per second). */
  clientRequestVolume:
    'round(sum(irate(istio_requests_total{reporter=~"$qrep",destination_service="$service"}[$__rate_interval])), 0.001)',
  /** "Client Success Rate (non-5xx responses)". */
  clientSuccessRate:
    'sum(irate(istio_requests_total{reporter=~"$qrep",destination_service="$service",response_code!~"5.*"}[$__rate_interval])) / (sum(irate(istio_requests_total{reporter=~"$qrep",destination_service="$service"}[$__rate_interval])) or on () vector(1))',
  /** "Server Request Volume". */
  serverRequestVolume:
    'round(sum(irate(istio_requests_total{reporter="destination",destination_service="$service"}[$__rate_interval])), 0.001)',
  /** "Server Success Rate (non-5xx responses)". */
  serverSuccessRate:
    'sum(irate(istio_requests_total{reporter="destination",destination_service="$service",response_code!~"5.*"}[$__rate_interval])) / (sum(irate(istio_requests_total{reporter="destination",destination_service="$service"}[$__rate_interval])) or on () vector(1))',
  /** "Incoming Request Duration By Source", target "P99 (🔐mTLS)" (seconds). */
  incomingDurationBySourceP99Mtls:
    '(histogram_quantile(0.99, sum(irate(istio_request_duration_milliseconds_bucket{reporter=~"$qrep", connection_security_policy="mutual_tls", destination_service="$service", source_workload=~"$srcwl", source_workload_namespace=~"$srcns"}[$__rate_interval])) by (source_workload, source_workload_namespace, le)) / 1000) or histogram_quantile(0.99, sum(irate(istio_request_duration_seconds_bucket{reporter=~"$qrep", connection_security_policy="mutual_tls", destination_service="$service", source_workload=~"$srcwl", source_workload_namespace=~"$srcns"}[$__rate_interval])) by (source_workload, source_workload_namespace, le))',
  /** "Incoming Request Duration By Source", target "P99" (plaintext; seconds). */
  incomingDurationBySourceP99:
    '(histogram_quantile(0.99, sum(irate(istio_request_duration_milliseconds_bucket{reporter=~"$qrep", connection_security_policy!="mutual_tls", destination_service="$service", source_workload=~"$srcwl", source_workload_namespace=~"$srcns"}[$__rate_interval])) by (source_workload, source_workload_namespace, le)) / 1000) or histogram_quantile(0.99, sum(irate(istio_request_duration_seconds_bucket{reporter=~"$qrep", connection_security_policy!="mutual_tls", destination_service="$service", source_workload=~"$srcwl", source_workload_namespace=~"$srcns"}[$__rate_interval])) by (source_workload, source_workload_namespace, le))',
} as const

/** Istio Mesh Dashboard: the "HTTP/gRPC Workloads" table's "Requests" column. */
export const MESH_DASHBOARD = {
  workloadRequests:
    'label_join(sum by (destination_workload,destination_workload_namespace,destination_service) (rate(istio_requests_total{reporter=~"source|waypoint"}[$__rate_interval])), "destination_workload_var", ".", "destination_workload", "destination_workload_namespace")',
} as const

/**
 * Grafana's `$__rate_interval`: max($__interval + scrape interval, 4 × scrape interval), with the
 * data source's "Scrape interval" set to Prometheus' and `$__interval` the query's step.
 */
export function rateInterval(scrapeIntervalS: number, stepS: number): string {
  return `${Math.max(stepS + scrapeIntervalS, 4 * scrapeIntervalS)}s`
}

/** A template variable's value: one value (a single-valued variable) or the values selected (multi-value or All). */
export type VariableValue = string | readonly string[]

const REGEX_SPECIAL = /[$^*{}[\]'+?.()|]/g

// Grafana's Prometheus data source escapes multi-value and All variables for a regex inside a
// PromQL string (a backslash written twice) and joins several with `|`; a single-valued variable
// goes in as it is, its backslashes and quotes escaped.
function formatVariable(value: VariableValue): string {
  if (typeof value === 'string') return value.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'")
  const escaped = value.map((v) => v.replace(/\\/g, '\\\\\\\\').replace(REGEX_SPECIAL, '\\\\$&'))
  return escaped.length === 1 ? (escaped[0] as string) : `(${escaped.join('|')})`
}

/** Substitutes `$name` and `${name}` as Grafana does; a variable the expression uses but `vars` lacks is an error. */
export function interpolate(expr: string, vars: Readonly<Record<string, VariableValue>>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string
    const value = vars[name]
    if (value === undefined) throw new Error(`dashboard query uses $${name}, which was not given: ${expr}`)
    return formatVariable(value)
  })
}

/**
 * Values of a `query_result(...)` variable from its query's answer, as Grafana extracts them: the
 * regex runs over each series written `{label="value", ...} value timestamp`; its first group is
 * the value. Duplicates are dropped, order kept.
 */
export function variableValues(
  results: ReadonlyArray<{ metric: Record<string, string>; value: number }>,
  regex: RegExp,
): string[] {
  const values = new Set<string>()
  for (const r of results) {
    const labels = Object.entries(r.metric)
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ')
    const text = `{${labels}} ${r.value} ${Date.now()}`
    const found = regex.exec(text)?.[1]
    if (found !== undefined) values.add(found)
  }
  return [...values]
}

const RATE_OVER_RATE_INTERVAL = /\b(?:irate|rate)\((\w+\{[^}]*\})\[\$__rate_interval\]\)/g

/**
 * The same panel over every request since the counters began: each `rate(x[$__rate_interval])` /
 * `irate(…)` becomes `x`. A rate is a slope between samples, so a panel answers "per second,
 * lately"; only the counters themselves add up to the requests sent. Everything around the rate
 * (selectors, sums, `by`, the ratio, `histogram_quantile`, `/ 1000`) stays as Istio wrote it.
 */
export function asCumulative(expr: string): string {
  const cumulative = expr.replace(RATE_OVER_RATE_INTERVAL, '$1')
  if (/\b(?:irate|rate)\(/.test(cumulative)) {
    throw new Error(`asCumulative: a rate over something other than [$__rate_interval] is left: ${expr}`)
  }
  return cumulative
}
