import type { IncomingMessage, ServerResponse } from 'node:http'
import { type TracerProvider, trace } from '@opentelemetry/api'
import type { Snapshot } from '@weft/config'
import { Registry } from 'prom-client'
import { EdgeAggregator } from './edge-aggregator.js'
import { TelemetryOptionsError } from './errors.js'
import { InboundTelemetry } from './inbound-telemetry.js'
import { appOf, type PeerLabels, UNKNOWN, versionOf, workloadOf } from './istio-labels.js'
import { IstioMetrics } from './istio-metrics.js'
import { createFastifyMetrics, createMetricsHandler, type FastifyRoutes } from './metrics-handler.js'
import { OutboundTelemetry } from './outbound-telemetry.js'
import { type LineSink, TelemetryCore } from './telemetry-core.js'
import type { CompiledTelemetryPolicy } from './telemetry-policy.js'
import { WeftMetrics } from './weft-metrics.js'

const VERSION = '0.1.0'

export interface TelemetryOptions {
  /** This workload's service name (`reviews`). */
  readonly service: string
  /** Default `default`. */
  readonly namespace?: string
  /** Pod labels; `app` defaults to the service name, `version` gives `source_version`/`destination_version`. */
  readonly labels?: Readonly<Record<string, string>>
  /** The workload name Istio would take from the Deployment; default `app-version` (`reviews-v2`), or `app`. */
  readonly workload?: string
  /** This workload's SPIFFE ID (`spiffe://cluster.local/ns/default/sa/reviews`) when it serves mTLS; else `unknown`. */
  readonly principal?: string
  /** The mesh's trust domain, when this workload dials mesh endpoints with mTLS: their principals are then reported. */
  readonly trustDomain?: string
  /** The snapshot in force: its Telemetry resources are compiled once per version. */
  readonly snapshot: () => Snapshot
  /** Where the metrics go; default a new Registry (merge it with yours: `Registry.merge([a, b])`). */
  readonly registry?: Registry
  /** Weft's spans; default on. Off, Weft still propagates the caller's trace context. */
  readonly tracing?: boolean
  /** Default the global one (`trace.getTracerProvider()`), which the application's SDK sets. */
  readonly tracerProvider?: TracerProvider
  /** Where access-log lines go when a Telemetry resource turns the log on; default stdout. */
  readonly accessLog?: LineSink
  readonly random?: () => number
  /** Milliseconds since the epoch, fractions allowed. */
  readonly now?: () => number
}

/** A workload's telemetry: what `createMesh` wires into the client and the server adapters. */
export interface Telemetry {
  /** The prom-client registry with Istio's and Weft's series. */
  readonly metrics: Registry
  /** `@weft/client`'s `OutboundTelemetry`: the `telemetry` option of `createMeshDispatcher` and `meshGrpc`. */
  readonly outbound: OutboundTelemetry
  /** For the inbound adapters: `inbound.start({...})` per request. */
  readonly inbound: InboundTelemetry
  /** Weft's own series: entry points for the server (denials, rate limits) and the mesh (snapshot, control plane). */
  readonly weft: WeftMetrics
  /** Per-edge aggregates of both reporters, whatever the Telemetry policy says: what the mesh reports to the control plane. */
  readonly edges: EdgeAggregator
  /** `/metrics` for `http.createServer` and Express. */
  readonly metricsHandler: (req: IncomingMessage, res: ServerResponse) => void
  /** `/metrics` as a Fastify plugin: `fastify.register(telemetry.fastifyMetrics())`. */
  fastifyMetrics(path?: string): (instance: FastifyRoutes) => Promise<void>
  /** The Telemetry resources in force for this workload, compiled; `ignored` lists what Weft does not apply. */
  policy(): CompiledTelemetryPolicy
}

function selfLabels(
  options: TelemetryOptions,
  namespace: string,
  labels: Readonly<Record<string, string>>,
): PeerLabels {
  const principal = options.principal
  if (principal !== undefined && !principal.startsWith('spiffe://')) {
    throw new TelemetryOptionsError(
      `principal must be a SPIFFE ID (spiffe://trust-domain/ns/namespace/sa/account), got "${principal}"`,
    )
  }
  return Object.freeze({
    workload: options.workload ?? workloadOf(labels, options.service),
    namespace,
    principal: principal ?? UNKNOWN,
    app: appOf(labels) ?? UNKNOWN,
    version: versionOf(labels) ?? UNKNOWN,
  })
}

const preciseNow = () => performance.timeOrigin + performance.now()

/**
 * Creates a workload's telemetry: Istio's standard metrics on both sides of every call, Weft's
 * own series, OpenTelemetry spans (with the application's tracer provider), the access log, all
 * shaped by the Telemetry resources that govern the workload.
 */
export function createTelemetry(options: TelemetryOptions): Telemetry {
  if (!options.service)
    throw new TelemetryOptionsError('createTelemetry needs `service`: this workload’s service name')
  if (typeof options.snapshot !== 'function')
    throw new TelemetryOptionsError(
      'createTelemetry needs `snapshot`: a function returning the snapshot in force',
    )
  const namespace = options.namespace ?? 'default'
  const labels = Object.freeze({ app: options.service, ...options.labels })
  const registry = options.registry ?? new Registry()
  const tracing = options.tracing ?? true
  const self = selfLabels(options, namespace, labels)
  const edges = new EdgeAggregator({
    namespace,
    service: options.service,
    workload: self.workload,
    app: self.app,
    version: self.version,
  })
  const core = new TelemetryCore({
    snapshot: options.snapshot,
    self,
    service: options.service,
    namespace,
    labels,
    trustDomain: options.trustDomain,
    tracer: tracing
      ? (options.tracerProvider ?? trace.getTracerProvider()).getTracer('@weft/telemetry', VERSION)
      : undefined,
    metrics: new IstioMetrics(registry),
    weft: new WeftMetrics(registry),
    edges,
    accessLog: options.accessLog ?? process.stdout,
    random: options.random ?? Math.random,
    now: options.now ?? preciseNow,
  })
  return Object.freeze({
    metrics: registry,
    outbound: new OutboundTelemetry(core),
    inbound: new InboundTelemetry(core),
    weft: core.weft,
    edges,
    metricsHandler: createMetricsHandler(registry),
    fastifyMetrics: (path?: string) => createFastifyMetrics(registry, path),
    policy: () => core.policy(),
  })
}
