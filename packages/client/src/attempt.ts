import type { Duplex } from 'node:stream'
import type { AttemptOutcome, UpstreamOutcome } from '@weft/core'
import type { Cluster } from './cluster.js'
import type { LegacyHandler } from './legacy-handler.js'
import type { MeshRequest } from './mesh-request.js'
import { type OutboundAttempt, observe } from './request-observer.js'

/** An attempt that failed in a way the route's retry policy may retry. */
export class AttemptFailed extends Error {
  override name = 'AttemptFailed'
  readonly outcome: AttemptOutcome
  readonly retryAfter: string | undefined

  constructor(outcome: AttemptOutcome, retryAfter?: string) {
    super(`attempt failed: ${outcome.kind}${outcome.kind === 'response' ? ` ${outcome.status}` : ''}`)
    this.outcome = outcome
    this.retryAfter = retryAfter
  }
}

/** The reason an attempt is aborted when another replaces it; its error callback is then ignored. */
const RETRY = new Error('weft: retrying this attempt')

function connectFailure(error: Error): boolean {
  const code = (error as { code?: string }).code
  return (
    code === 'ECONNREFUSED' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH'
  )
}

/**
 * One attempt of a request: the handler undici's Agent calls for it (in the shape its Client
 * speaks, see LegacyHandler), holding what is the attempt's own (its endpoint slot, per-try
 * timer, breaker report) and handing decisions to its MeshRequest. Once it is retried or has
 * failed, its late callbacks are ignored.
 */
export class Attempt implements LegacyHandler {
  readonly number: number
  readonly retries: number
  readonly #owner: MeshRequest
  readonly #cluster: Cluster
  readonly #index: number
  readonly #retrying: boolean
  readonly #now: () => number
  readonly #resolve: () => void
  readonly #reject: (error: AttemptFailed) => void
  #abortUpstream: ((reason?: Error) => void) | undefined
  /** An abort asked for before undici connected the attempt; carried out when it does. */
  #pendingAbort: Error | undefined
  #timer: NodeJS.Timeout | undefined
  #timedOut = false
  #released = false
  #settled = false
  /** Undici is done with it: its response completed or it failed. */
  #closed = false
  /** Its response is the caller's: data and end pass through. */
  #committed = false
  #breaker: ((failed: boolean) => void) | undefined
  /** The attempt's telemetry (its span), when telemetry is on; ended once. */
  #telemetry: OutboundAttempt | undefined

  constructor(
    owner: MeshRequest,
    number: number,
    retries: number,
    cluster: Cluster,
    index: number,
    retrying: boolean,
    now: () => number,
    resolve: () => void,
    reject: (error: AttemptFailed) => void,
  ) {
    this.#owner = owner
    this.number = number
    this.retries = retries
    this.#cluster = cluster
    this.#index = index
    this.#retrying = retrying
    this.#now = now
    this.#resolve = resolve
    this.#reject = reject
  }

  /** Whether undici connected it and is not done with it: an abort then reaches its error callback. */
  get inFlight(): boolean {
    return this.#abortUpstream !== undefined && !this.#closed
  }

  /** The per-try timeout: past it the attempt is aborted and counts as timed out. */
  limit(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timedOut = true
      this.abort(new Error('weft: per-try timeout'))
    }, ms)
  }

  /** Runs `send` as the destination breaker's action; it settles when the upstream answers. */
  guard(send: () => void): Promise<void> {
    return new Promise<void>((ok, ko) => {
      this.#breaker = (failed) => (failed ? ko(new Error('weft: upstream failure')) : ok())
      send()
    })
  }

  observe(telemetry: OutboundAttempt | undefined): void {
    this.#telemetry = telemetry
  }

  /** Sends the attempt, through its telemetry when there is one (which hides the hop from other tracers). */
  send(dispatch: () => void): void {
    const telemetry = this.#telemetry
    if (!telemetry) {
      dispatch()
      return
    }
    let sent = false
    let failure: { error: unknown } | undefined
    observe(() =>
      telemetry.run(() => {
        sent = true
        try {
          dispatch()
        } catch (error) {
          failure = { error }
        }
      }),
    )
    // A telemetry that failed before sending must not lose the request, nor hide a dispatch error.
    if (!sent) dispatch()
    else if (failure) throw failure.error
  }

  /** Ends the attempt's telemetry with its status or error; once. */
  observed(status: number | undefined, error: Error | undefined): void {
    const telemetry = this.#telemetry
    if (!telemetry) return
    this.#telemetry = undefined
    observe(() => telemetry.end(status, error))
  }

  /** Gives back the attempt's slots and tells outlier detection how it went; once. */
  release(outcome: UpstreamOutcome | undefined): void {
    if (this.#released) return
    this.#released = true
    const cluster = this.#cluster
    cluster.pool.releaseRequest()
    if (this.#retrying) cluster.pool.releaseRetry()
    const index = this.#index
    if (index >= 0) {
      cluster.active[index] = Math.max(0, (cluster.active[index] ?? 1) - 1)
      if (outcome && cluster.outlier) {
        const event = cluster.outlier.record(cluster.keyOf(index), outcome, this.#now())
        if (event?.type === 'ejected') cluster.ejected(event.endpoint)
      }
    }
  }

  abort(reason: Error): void {
    if (this.#closed) return
    if (this.#abortUpstream) this.#abortUpstream(reason)
    else this.#pendingAbort ??= reason
  }

  /** Another attempt follows this one; `abort` stops a response that is still arriving. */
  retry(outcome: AttemptOutcome, retryAfter: string | undefined, abort: boolean): void {
    if (this.#settled) return
    this.#settled = true
    clearTimeout(this.#timer)
    if (abort) this.abort(RETRY)
    this.#reject(new AttemptFailed(outcome, retryAfter))
  }

  /** Its response is the caller's from here on. */
  commit(): void {
    this.#committed = true
  }

  /** This attempt's part is over (its response is the caller's, or the caller was answered). */
  succeed(): void {
    if (this.#settled) return
    this.#settled = true
    clearTimeout(this.#timer)
    this.#resolve()
  }

  #report(failed: boolean): void {
    this.#breaker?.(failed)
    this.#breaker = undefined
  }

  onConnect(abort: (reason?: Error) => void): void {
    this.#abortUpstream = abort
    if (this.#pendingAbort) abort(this.#pendingAbort)
    else if (!this.#owner.attemptConnected(this)) abort(new Error('weft: request already answered'))
  }

  onUpgrade(statusCode: number, headers: Buffer[], socket: Duplex): void {
    this.#closed = true
    this.#owner.attemptUpgraded(statusCode, headers, socket)
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    // Informational answers (100 Continue, 103 Early Hints) precede the response that counts.
    if (statusCode < 200) return true
    this.#report(statusCode >= 500)
    this.observed(statusCode, undefined)
    clearTimeout(this.#timer)
    if (this.#settled) return true
    return this.#owner.attemptResponded(this, statusCode, headers, resume, statusText)
  }

  onData(chunk: Buffer): boolean {
    return this.#committed ? this.#owner.attemptData(chunk) : true
  }

  onComplete(trailers: (Buffer | string)[] | null): void {
    this.#closed = true
    if (this.#committed) this.#owner.attemptEnded(trailers)
  }

  onError(error: Error): void {
    this.#closed = true
    this.#report(true)
    this.observed(undefined, error)
    clearTimeout(this.#timer)
    const outcome: AttemptOutcome = this.#timedOut
      ? { kind: 'timeout' }
      : connectFailure(error)
        ? { kind: 'connect-failure' }
        : { kind: 'reset' }
    // Idempotent: a retried response was released when its status arrived.
    this.release(outcome as UpstreamOutcome)
    if (error === RETRY) return
    this.#owner.attemptFailed(this, outcome, error)
  }
}
