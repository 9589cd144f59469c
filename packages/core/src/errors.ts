/**
 * Base of every error `@weft/core` throws; `code` is public API. Core throws only while options
 * are compiled (once per snapshot); decisions on the request path return values instead.
 */
export class WeftCoreError extends Error {
  override name = 'WeftCoreError'
  readonly code: string = 'WEFT_CORE_ERROR'
}

/** An option handed to a core factory is out of its range; `option` names it. */
export class InvalidOptionError extends WeftCoreError {
  override name = 'InvalidOptionError'
  override readonly code = 'WEFT_CORE_INVALID_OPTION'
  readonly option: string

  constructor(option: string, expected: string, actual: unknown) {
    super(`${option} must be ${expected}, got ${JSON.stringify(actual) ?? String(actual)}`)
    this.option = option
  }
}

/** A `retryOn` entry that is neither a known retry condition nor an HTTP status code. */
export class InvalidRetryOnError extends WeftCoreError {
  override name = 'InvalidRetryOnError'
  override readonly code = 'WEFT_CORE_INVALID_RETRY_ON'
  readonly condition: string

  constructor(condition: string) {
    super(`retryOn: ${JSON.stringify(condition)} is neither a retry condition nor an HTTP status code`)
    this.condition = condition
  }
}
