/** Every error `@weft/telemetry` throws: a stable `code` (`WEFT_TELEMETRY_*`) to match on. */
export class WeftTelemetryError extends Error {
  override name = 'WeftTelemetryError'
  readonly code: string

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** `createTelemetry` was given an option it cannot use. */
export class TelemetryOptionsError extends WeftTelemetryError {
  override name = 'TelemetryOptionsError'

  constructor(message: string) {
    super('WEFT_TELEMETRY_INVALID_OPTION', message)
  }
}

/** `startTelemetrySdk` needs an optional peer dependency the application has not installed. */
export class TelemetrySdkMissingError extends WeftTelemetryError {
  override name = 'TelemetrySdkMissingError'

  constructor(pkg: string, cause: unknown) {
    super(
      'WEFT_TELEMETRY_SDK_MISSING',
      `startTelemetrySdk needs ${pkg}: install it beside @weft/telemetry (npm install ${pkg} @opentelemetry/sdk-node @opentelemetry/exporter-trace-otlp-http)`,
      { cause },
    )
  }
}
