/** Base of every error `@weft/server` reports; `code` is public API. */
export class WeftServerError extends Error {
  override name = 'WeftServerError'
  readonly code: string = 'WEFT_SERVER_ERROR'
}

/** An option handed to `createInboundPolicy` is unusable; thrown at creation, never per request. */
export class InvalidInboundOptionError extends WeftServerError {
  override name = 'InvalidInboundOptionError'
  override readonly code = 'WEFT_SERVER_INVALID_OPTION'
  readonly option: string

  constructor(option: string, expected: string) {
    super(`${option} must be ${expected}`)
    this.option = option
  }
}

/**
 * The workload's policies could not be compiled for a snapshot; every request is refused (500)
 * until a snapshot that compiles arrives. `cause` says what failed.
 */
export class InboundPolicyCompileError extends WeftServerError {
  override name = 'InboundPolicyCompileError'
  override readonly code = 'WEFT_SERVER_POLICY_COMPILE_FAILED'
  readonly version: string

  constructor(version: string, options: ErrorOptions) {
    super(
      `inbound policy for snapshot ${version} failed to compile; requests are refused until the config is fixed`,
      options,
    )
    this.version = version
  }
}

/**
 * The inbound pipeline threw while deciding on a request: the request is refused (500), the
 * host server keeps running. `cause` is the original error.
 */
export class InboundPipelineError extends WeftServerError {
  override name = 'InboundPipelineError'
  override readonly code = 'WEFT_SERVER_PIPELINE_FAILED'

  constructor(options: ErrorOptions) {
    super('inbound policy failed while deciding on a request; the request was refused', options)
  }
}

/** An external authorizer (CUSTOM) failed: refused, timed out, or the provider is not configured. */
export class ExtAuthzError extends WeftServerError {
  override name = 'ExtAuthzError'
  override readonly code = 'WEFT_SERVER_EXT_AUTHZ_FAILED'
  readonly provider: string

  constructor(provider: string, problem: string, options?: ErrorOptions) {
    super(`ext_authz provider ${JSON.stringify(provider)}: ${problem}`, options)
    this.provider = provider
  }
}
