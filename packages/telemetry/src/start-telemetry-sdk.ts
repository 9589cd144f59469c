import { TelemetrySdkMissingError } from './errors.js'

/** What `startTelemetrySdk` started: stop it on shutdown to flush the last spans. */
export interface TelemetrySdk {
  shutdown(): Promise<void>
}

export interface TelemetrySdkOptions {
  /** `service.name` of the spans; default `OTEL_SERVICE_NAME`, as the SDK reads it. */
  readonly serviceName?: string
  /** Instrumentations to run beside Weft (see docs/telemetry.md about duplicate spans). */
  readonly instrumentations?: readonly unknown[]
}

async function load<T>(pkg: string): Promise<T> {
  try {
    return (await import(pkg)) as T
  } catch (error) {
    throw new TelemetrySdkMissingError(pkg, error)
  }
}

interface SdkNodeModule {
  NodeSDK: new (config: Record<string, unknown>) => { start(): void; shutdown(): Promise<void> }
}
interface OtlpHttpModule {
  OTLPTraceExporter: new () => unknown
}

/**
 * Starts OpenTelemetry's NodeSDK with an OTLP/HTTP trace exporter, both configured by the
 * standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
 * `OTEL_TRACES_SAMPLER`…). The SDK is the application's: `@opentelemetry/sdk-node` and
 * `@opentelemetry/exporter-trace-otlp-http` are optional peer dependencies, loaded only here.
 */
export async function startTelemetrySdk(options: TelemetrySdkOptions = {}): Promise<TelemetrySdk> {
  const [{ NodeSDK }, { OTLPTraceExporter }] = await Promise.all([
    load<SdkNodeModule>('@opentelemetry/sdk-node'),
    load<OtlpHttpModule>('@opentelemetry/exporter-trace-otlp-http'),
  ])
  const sdk = new NodeSDK({
    traceExporter: new OTLPTraceExporter(),
    ...(options.serviceName ? { serviceName: options.serviceName } : {}),
    instrumentations: [...(options.instrumentations ?? [])],
  })
  sdk.start()
  return { shutdown: () => sdk.shutdown() }
}
