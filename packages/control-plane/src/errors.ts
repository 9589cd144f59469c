/** Base of every error the control plane answers with; `code` and `status` are public API. */
export class ControlPlaneError extends Error {
  override name = 'ControlPlaneError'
  readonly code: string = 'WEFT_CP_ERROR'
  readonly status: number = 500
}

/** No credential, or one the control plane did not issue. */
export class UnauthenticatedError extends ControlPlaneError {
  override name = 'UnauthenticatedError'
  override readonly code = 'WEFT_CP_UNAUTHENTICATED'
  override readonly status = 401
}

/** A valid credential that does not allow this: another namespace, or a write without the admin token. */
export class ForbiddenError extends ControlPlaneError {
  override name = 'ForbiddenError'
  override readonly code = 'WEFT_CP_FORBIDDEN'
  override readonly status = 403
}

/** The request itself is malformed: bad JSON, a missing field. */
export class BadRequestError extends ControlPlaneError {
  override name = 'BadRequestError'
  override readonly code = 'WEFT_CP_BAD_REQUEST'
  override readonly status = 400
}

/** An apply that does not validate; `lines` are `weft validate`'s error lines. Nothing was stored. */
export class ConfigRefusedError extends ControlPlaneError {
  override name = 'ConfigRefusedError'
  override readonly code = 'WEFT_CP_CONFIG_INVALID'
  override readonly status = 400
  readonly lines: readonly string[]

  constructor(lines: readonly string[]) {
    super(
      `the config does not validate (${lines.length} error${lines.length === 1 ? '' : 's'}); nothing was applied`,
    )
    this.lines = lines
  }
}

/** Optimistic concurrency: the resource changed since the `resourceVersion` the writer read. */
export class ConflictError extends ControlPlaneError {
  override name = 'ConflictError'
  override readonly code = 'WEFT_CP_CONFLICT'
  override readonly status = 409
}

export class NotFoundError extends ControlPlaneError {
  override name = 'NotFoundError'
  override readonly code = 'WEFT_CP_NOT_FOUND'
  override readonly status = 404
}

/** The store could not be read or written; what was acknowledged before is intact. */
export class StoreError extends ControlPlaneError {
  override name = 'StoreError'
  override readonly code = 'WEFT_CP_STORE'
  override readonly status = 503
}

/** A request body over the route's size limit; the message says the limit. */
export class PayloadTooLargeError extends ControlPlaneError {
  override name = 'PayloadTooLargeError'
  override readonly code = 'WEFT_CP_TOO_LARGE'
  override readonly status = 413
}
