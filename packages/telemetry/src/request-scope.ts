import { AsyncLocalStorage } from 'node:async_hooks'
import { type Context, context } from '@opentelemetry/api'
import { suppressTracing } from '@opentelemetry/core'

/**
 * What an inbound request hands to the calls made while serving it: its `x-request-id` and its
 * trace context. Carried in Weft's own AsyncLocalStorage rather than OpenTelemetry's context,
 * so that propagation works whether or not the application registered a context manager.
 */
export interface RequestScope {
  readonly requestId: string
  /** The SERVER span's context (or the caller's, when Weft made no span). */
  readonly context: Context
}

const scopes = new AsyncLocalStorage<RequestScope>()
const untraced = new AsyncLocalStorage<boolean>()

export function currentScope(): RequestScope | undefined {
  return scopes.getStore()
}

export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return scopes.run(scope, fn)
}

/**
 * Runs the SDK's own calls (control plane, JWKS, certificate signing): Weft neither traces nor
 * counts what `fn` starts, and OpenTelemetry's `suppressTracing` keeps the application's
 * instrumentations (undici, http) from tracing it too.
 */
export function runUntraced<T>(fn: () => T): T {
  return untraced.run(true, () => context.with(suppressTracing(context.active()), fn))
}

/** Whether the current call is one of the SDK's own. */
export function isUntraced(): boolean {
  return untraced.getStore() === true
}
