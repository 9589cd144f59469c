import { type Context, type Span, type SpanKind, type Tracer, trace } from '@opentelemetry/api'
import type { Endpoint, Snapshot } from '@weft/config'
import { splitServiceHost } from '@weft/config'
import type { AccessLogContext, AccessLogEntry } from './access-log-entry.js'
import type { EdgeAggregator } from './edge-aggregator.js'
import {
  appOf,
  encodePeer,
  type PeerLabels,
  spiffePrincipal,
  UNKNOWN,
  versionOf,
  workloadOf,
} from './istio-labels.js'
import type { IstioMetrics } from './istio-metrics.js'
import { type CompiledTelemetryPolicy, compileTelemetryPolicy, type Reporter } from './telemetry-policy.js'
import type { WeftMetrics } from './weft-metrics.js'

/** The `destination_service*` labels of one host, with an id for series keys. */
export interface ServiceLabels {
  readonly id: number
  readonly service: string
  readonly name: string
  readonly namespace: string
}

/** A peer's labels with an id for series keys. */
export interface KeyedPeer extends PeerLabels {
  readonly id: number
}

/** Where access-log lines go. */
export interface LineSink {
  write(line: string): unknown
}

export interface CoreOptions {
  readonly snapshot: () => Snapshot
  readonly self: PeerLabels
  readonly service: string
  readonly namespace: string
  readonly labels: Readonly<Record<string, string>>
  /** Set when this workload dials mesh endpoints with mTLS: their principals then come from their service accounts. */
  readonly trustDomain: string | undefined
  readonly tracer: Tracer | undefined
  readonly metrics: IstioMetrics
  readonly weft: WeftMetrics
  /** Per-edge aggregates for the control plane's graph, fed whatever the Telemetry policy says. */
  readonly edges: EdgeAggregator
  readonly accessLog: LineSink
  readonly random: () => number
  readonly now: () => number
}

/**
 * What the outbound and inbound sides share: the workload's identity, the Telemetry policy
 * compiled for the snapshot in force (once per snapshot version), label lookups cached per
 * snapshot, the tracer, the metric sinks and the access log.
 */
export class TelemetryCore {
  readonly self: PeerLabels
  readonly selfHeader: string
  readonly selfService: ServiceLabels
  readonly tracer: Tracer | undefined
  readonly metrics: IstioMetrics
  readonly weft: WeftMetrics
  readonly edges: EdgeAggregator
  readonly random: () => number
  readonly now: () => number
  readonly #options: CoreOptions
  #version = ''
  #policy: CompiledTelemetryPolicy | undefined
  #services = new Map<string, ServiceLabels>()
  #peers = new WeakMap<Endpoint, KeyedPeer>()
  #peersByAddress = new Map<string, KeyedPeer>()
  #nextId = 0

  constructor(options: CoreOptions) {
    this.#options = options
    this.self = options.self
    this.selfHeader = encodePeer(options.self)
    this.tracer = options.tracer
    this.metrics = options.metrics
    this.weft = options.weft
    this.edges = options.edges
    this.random = options.random
    this.now = options.now
    const snapshot = options.snapshot()
    this.selfService = {
      id: 0,
      service: `${options.service}.${options.namespace}.svc.${snapshot.domainSuffix}`,
      name: options.service,
      namespace: options.namespace,
    }
    this.#refresh(snapshot)
  }

  /** The policy in force, recompiled when the snapshot's version changes. */
  policy(): CompiledTelemetryPolicy {
    const snapshot = this.#options.snapshot()
    if (snapshot.version !== this.#version) this.#refresh(snapshot)
    return this.#policy as CompiledTelemetryPolicy
  }

  #refresh(snapshot: Snapshot): void {
    const resources = snapshot.policiesFor(this.#options.namespace, this.#options.labels).telemetry
    let policy: CompiledTelemetryPolicy
    try {
      policy = compileTelemetryPolicy(resources, snapshot.rootNamespace)
    } catch {
      // A resource that cannot compile (validation refuses those first) leaves the policy in force.
      policy = this.#policy ?? compileTelemetryPolicy([], snapshot.rootNamespace)
    }
    this.#version = snapshot.version
    this.#policy = policy
    this.#services = new Map()
    this.#peers = new WeakMap()
    this.#peersByAddress = new Map()
    this.metrics.setPolicy(policy)
    this.weft.snapshotApplied(snapshot.version)
  }

  /** `destination_service`, `_name`, `_namespace` of a host the client called. */
  serviceOf(host: string, passthrough: boolean): ServiceLabels {
    let labels = this.#services.get(host)
    if (labels) return labels
    const snapshot = this.#options.snapshot()
    const info = snapshot.service(host)
    const split = splitServiceHost(host, snapshot.domainSuffix)
    labels = {
      id: ++this.#nextId,
      service: host,
      name: split?.name ?? (info ? host : passthrough ? 'PassthroughCluster' : host),
      namespace: split?.namespace ?? info?.namespace ?? UNKNOWN,
    }
    this.#services.set(host, labels)
    return labels
  }

  /** The `destination_*` workload labels of an endpoint. */
  peerOf(endpoint: Endpoint, service: ServiceLabels): KeyedPeer {
    let peer = this.#peers.get(endpoint)
    if (peer) return peer
    const labels = endpoint.labels
    const trustDomain = this.#options.trustDomain
    const namespace = service.namespace
    peer = {
      id: ++this.#nextId,
      workload: workloadOf(labels, service.name),
      namespace,
      principal:
        trustDomain && endpoint.mtls && endpoint.serviceAccount && namespace !== UNKNOWN
          ? spiffePrincipal(trustDomain, namespace, endpoint.serviceAccount)
          : UNKNOWN,
      app: appOf(labels) ?? UNKNOWN,
      version: versionOf(labels) ?? UNKNOWN,
    }
    this.#peers.set(endpoint, peer)
    return peer
  }

  /** An endpoint named by `address:port` only (gRPC reports its peer so). */
  peerByAddress(host: string, address: string, service: ServiceLabels): KeyedPeer | undefined {
    const key = `${host}|${address}`
    const known = this.#peersByAddress.get(key)
    if (known) return known
    const endpoint = this.#options
      .snapshot()
      .service(host)
      ?.endpoints.find((e) => `${e.address}:${e.port}` === address)
    if (!endpoint) return undefined
    const peer = this.peerOf(endpoint, service)
    this.#peersByAddress.set(key, peer)
    return peer
  }

  /** Weft's sampling decision on top of the application's sampler; undefined context means "no span". */
  shouldTrace(reporter: Reporter, parent: Context): boolean {
    if (!this.tracer) return false
    const tracing = this.policy()[reporter].tracing
    if (!tracing.reportSpans) return false
    if (tracing.samplingPercent === undefined) return true
    // Envoy follows a caller's decision; only a root span is sampled at random.
    const parentSpan = trace.getSpanContext(parent)
    if (parentSpan && trace.isSpanContextValid(parentSpan)) return (parentSpan.traceFlags & 1) === 1
    return this.random() * 100 < tracing.samplingPercent
  }

  startSpan(name: string, kind: SpanKind, parent: Context, startTime: number): Span {
    return (this.tracer as Tracer).startSpan(name, { kind, startTime }, parent)
  }

  /** Writes one access-log line when the reporter's policy logs this request. */
  log(reporter: Reporter, entry: () => AccessLogEntry, context: AccessLogContext): void {
    const policy = this.policy()[reporter].accessLog
    if (!policy) return
    const line = entry()
    if (policy.filter && !policy.filter(line, context)) return
    this.#options.accessLog.write(`${JSON.stringify(line)}\n`)
  }
}
