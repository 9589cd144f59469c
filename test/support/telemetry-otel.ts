import { createRequire } from 'node:module'

// @opentelemetry/sdk-trace-base is @weft/telemetry's dev dependency, resolved from there so that
// its spans use the very copy of @opentelemetry/api that the telemetry package records with.
const require = createRequire(new URL('../../packages/telemetry/package.json', import.meta.url))

export interface FinishedSpan {
  readonly name: string
  readonly kind: number
  readonly attributes: Record<string, unknown>
  readonly parentSpanContext?: { readonly spanId: string }
  spanContext(): { traceId: string; spanId: string }
}

interface SdkTraceBase {
  BasicTracerProvider: new (config: { spanProcessors: unknown[] }) => unknown
  SimpleSpanProcessor: new (exporter: unknown) => unknown
  InMemorySpanExporter: new () => { getFinishedSpans(): FinishedSpan[]; reset(): void }
}

/** A tracer provider that keeps every finished span in memory, for `createTelemetry({ tracerProvider })`. */
export function inMemoryTracing() {
  const sdk = require('@opentelemetry/sdk-trace-base') as SdkTraceBase
  const exporter = new sdk.InMemorySpanExporter()
  const provider = new sdk.BasicTracerProvider({ spanProcessors: [new sdk.SimpleSpanProcessor(exporter)] })
  return {
    // biome-ignore lint/suspicious/noExplicitAny: the provider's type lives in a package the tests do not import
    provider: provider as any,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
  }
}

/** SpanKind values of @opentelemetry/api. */
export const SPAN_KIND = { INTERNAL: 0, SERVER: 1, CLIENT: 2 } as const
