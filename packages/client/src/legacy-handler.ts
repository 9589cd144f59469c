import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'
import { parseRawHeaders } from './headers.js'

/**
 * The handler shape undici 7's `Client` calls (`onConnect`, `onHeaders` with raw header buffers,
 * `onData`, `onComplete`, `onError`). The mesh speaks it on both sides — to the Agent for each
 * attempt and to the caller — because undici translates every handler written to the newer
 * controller API into this shape and back: headers parsed into objects and turned back into
 * buffers once per layer. Speaking it directly, a response's headers reach the caller as the
 * socket delivered them unless the mesh has something to change (docs/decisions.md).
 */
export interface LegacyHandler {
  onConnect(abort: (reason?: Error) => void, context?: unknown): void
  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean
  onData(chunk: Buffer): boolean
  onComplete(trailers: (Buffer | string)[] | null): void
  onError(error: Error): void
  onUpgrade?(statusCode: number, headers: Buffer[], socket: Duplex): void
  onResponseStarted?(): void
  onBodySent?(chunkSize: number, totalBytesSent: number): void
  onRequestSent?(): void
}

/**
 * The handler a caller gave, in the legacy shape: undici's own handlers (`request`, `fetch`,
 * `stream`) arrive in it already (wrapped by `compose`, which passes those calls through); a
 * handler written to the controller API, such as an interceptor composed outside the mesh, is
 * adapted.
 */
export function asLegacyHandler(handler: Dispatcher.DispatchHandler): LegacyHandler {
  const h = handler as Partial<LegacyHandler>
  if (typeof h.onConnect === 'function' && typeof h.onHeaders === 'function') return h as LegacyHandler
  return new ControllerHandler(handler)
}

/** The controller a controller-API handler holds: pause and resume map onto the legacy flow control. */
class AdaptedController implements Dispatcher.DispatchController {
  #abort: (reason?: Error) => void
  #aborted = false
  #reason: Error | null = null
  #paused = false
  resumeUpstream: (() => void) | undefined

  constructor(abort: (reason?: Error) => void) {
    this.#abort = abort
  }

  get aborted(): boolean {
    return this.#aborted
  }

  get paused(): boolean {
    return this.#paused
  }

  get reason(): Error | null {
    return this.#reason
  }

  abort(reason: Error): void {
    if (this.#aborted) return
    this.#aborted = true
    this.#reason = reason
    this.#abort(reason)
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.resumeUpstream?.()
  }
}

class ControllerHandler implements LegacyHandler {
  readonly #handler: Dispatcher.DispatchHandler
  #controller = new AdaptedController(() => {})

  constructor(handler: Dispatcher.DispatchHandler) {
    this.#handler = handler
  }

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.#controller = new AdaptedController(abort)
    this.#handler.onRequestStart?.(this.#controller, context)
  }

  onUpgrade(statusCode: number, headers: Buffer[], socket: Duplex): void {
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, parseRawHeaders(headers), socket)
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    const controller = this.#controller
    controller.resumeUpstream = resume
    this.#handler.onResponseStart?.(controller, statusCode, parseRawHeaders(headers), statusText)
    return !controller.paused
  }

  onData(chunk: Buffer): boolean {
    this.#handler.onResponseData?.(this.#controller, chunk)
    return !this.#controller.paused
  }

  onComplete(trailers: (Buffer | string)[] | null): void {
    this.#handler.onResponseEnd?.(this.#controller, trailers ? parseRawHeaders(trailers) : {})
  }

  onError(error: Error): void {
    if (!this.#handler.onResponseError) throw error
    this.#handler.onResponseError(this.#controller, error)
  }
}
