export type { AccessLogContext, AccessLogEntry } from './access-log-entry.js'
export type { Telemetry, TelemetryOptions } from './create-telemetry.js'
export { createTelemetry } from './create-telemetry.js'
export type {
  EdgeAggregator,
  EdgeDelta,
  EdgeDestination,
  EdgeOutcome,
  EdgePeer,
  EdgeWorkload,
} from './edge-aggregator.js'
export { TelemetryOptionsError, TelemetrySdkMissingError, WeftTelemetryError } from './errors.js'
export type { InboundCall, InboundEnd, InboundHeaders, InboundStart } from './inbound-telemetry.js'
export { InboundTelemetry } from './inbound-telemetry.js'
export type { IstioLabel, PeerLabels } from './istio-labels.js'
export { ISTIO_LABELS, PEER_HEADER, WORKLOAD_LABEL } from './istio-labels.js'
export { DURATION_BUCKETS_MS, SIZE_BUCKETS_BYTES } from './istio-metrics.js'
export type { FastifyRoutes } from './metrics-handler.js'
export { createFastifyMetrics, createMetricsHandler } from './metrics-handler.js'
export type { OutboundAttemptTelemetry, OutboundEnd, OutboundStart } from './outbound-telemetry.js'
export { OutboundCall, OutboundTelemetry } from './outbound-telemetry.js'
export { isUntraced, runUntraced } from './request-scope.js'
export { REQUEST_ID_HEADER } from './span-attributes.js'
export type { TelemetrySdk, TelemetrySdkOptions } from './start-telemetry-sdk.js'
export { startTelemetrySdk } from './start-telemetry-sdk.js'
export type { LineSink } from './telemetry-core.js'
export type {
  AccessLogPolicy,
  CompiledTelemetryPolicy,
  MetricPolicy,
  Reporter,
  ReporterPolicy,
  StandardMetric,
  TracingPolicy,
} from './telemetry-policy.js'
export { compileTelemetryPolicy } from './telemetry-policy.js'
export type { BreakerState } from './weft-metrics.js'
export { WeftMetrics } from './weft-metrics.js'
