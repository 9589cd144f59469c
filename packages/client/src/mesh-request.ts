import type { Duplex } from 'node:stream'
import type { Endpoint } from '@weft/config'
import {
  type AttemptOutcome,
  attemptTimeoutMs,
  formatGrpcTimeout,
  GRPC_TIMEOUT_HEADER,
  HTTP_DEADLINE_HEADER,
  type RetryBackoff,
  type RouteDecision,
} from '@weft/core'
import pRetry, { AbortError } from 'p-retry'
import type { Dispatcher } from 'undici'
import { Attempt, AttemptFailed } from './attempt.js'
import type { CallerAbort } from './caller-abort.js'
import { isOpenCircuit } from './circuit-breaker.js'
import type { Cluster } from './cluster.js'
import {
  applyOperations,
  type Headers,
  parseRawHeaders,
  rawHeaderValue,
  single,
  toRawHeaders,
} from './headers.js'
import type { LegacyHandler } from './legacy-handler.js'
import { respondLocally } from './local-response.js'
import { isReplayable } from './request-body.js'
import { type OutboundRequestEvent, type OutboundRequestHook, report } from './request-event.js'
import { type OutboundRequestObserver, type OutboundTelemetry, observe } from './request-observer.js'
import { RESPONSE_FLAGS_HEADER, ResponseFlag } from './response-flags.js'

type Forward = Extract<RouteDecision, { kind: 'forward' }>

const NOTHING = () => {}

/** What one request needs from the interceptor that made it. */
export interface MeshRequestContext {
  readonly dispatch: Dispatcher.Dispatch
  readonly opts: Dispatcher.DispatchOptions
  readonly headers: Headers
  readonly scheme: string
  readonly decision: Forward
  readonly cluster: Cluster
  readonly hash: number | undefined
  readonly setCookie: string | undefined
  readonly backoff: RetryBackoff
  readonly random: () => number
  readonly now: () => number
  readonly onRequestEnd: OutboundRequestHook | undefined
  /** The request's telemetry, when the mesh has telemetry on. */
  readonly observer: OutboundRequestObserver | undefined
  readonly telemetry: OutboundTelemetry | undefined
  /** The abort function the caller holds already: its aborts come here once the request starts. */
  readonly cancel: CallerAbort
}

/**
 * One request through the mesh, across its attempts: Envoy's router for one stream. It picks an
 * endpoint per attempt, enforces the per-try and route timeouts, decides from the first bytes of
 * each response whether to retry (the route's retry policy, the retry budget, the circuit
 * breakers, a replayable body), waits Envoy's back-off or the upstream's `Retry-After`
 * between attempts, and hands the caller exactly one response: the upstream's, or the one
 * Envoy would have sent (503 UH/UO/UF/UR, 504 UT), with the response flags.
 */
export class MeshRequest {
  readonly #ctx: MeshRequestContext
  readonly #caller: LegacyHandler
  readonly #flags: string[]
  readonly #replayable: boolean
  readonly #deadlineMs: number | undefined
  #committed = false
  #finished = false
  #routeTimer: NodeJS.Timeout | undefined
  readonly #startedAtMs: number
  #status: number | undefined
  #attempts = 0
  /** Response body bytes passed to the caller; counted only for telemetry. */
  #responseBytes = 0
  /** Endpoints tried so far: Istio's previous-hosts retry predicate steers retries away from them. */
  #tried: Set<Endpoint> | undefined
  #lastEndpoint: Endpoint | undefined
  /** The attempt in progress, which a caller's abort or the route timeout stops. */
  #current: Attempt | undefined
  /** Why the caller aborted, once it has. */
  #aborted: Error | undefined

  constructor(ctx: MeshRequestContext, caller: LegacyHandler) {
    this.#ctx = ctx
    this.#caller = caller
    this.#flags = ctx.decision.fault.delayMs > 0 ? [ResponseFlag.delayInjected] : []
    this.#replayable = isReplayable(ctx.opts.body)
    const timeout = ctx.decision.timeoutMs
    this.#startedAtMs = ctx.now()
    this.#deadlineMs = timeout === undefined ? undefined : this.#startedAtMs + timeout
  }

  start(): void {
    const { decision } = this.#ctx
    this.#ctx.cancel.listen(this.#abortByCaller)
    if (this.#finished) return
    if (this.#deadlineMs !== undefined) {
      this.#routeTimer = setTimeout(() => this.#onRouteTimeout(), this.#deadlineMs - this.#ctx.now())
    }
    const retries = this.#replayable ? decision.retry.attempts : 0
    // The first attempt runs on its own, without a promise: most requests need no retry loop at all.
    try {
      this.#attempt(1, retries, NOTHING, (failed) => void this.#retry(failed, retries))
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** Attempts 2 … retries + 1, driven by p-retry, each after Envoy's back-off. */
  async #retry(first: AttemptFailed, retries: number): Promise<void> {
    const wait = async (failed: AttemptFailed, attemptNumber: number) => {
      const delay = this.#ctx.backoff.next(
        attemptNumber,
        this.#ctx.random,
        this.#ctx.now(),
        failed.retryAfter,
      )
      await new Promise((resolve) => setTimeout(resolve, delay.delayMs))
    }
    try {
      await wait(first, 1)
      await pRetry(
        (n) =>
          new Promise<void>((resolve, reject) => {
            if (this.#finished) reject(new AbortError('request finished'))
            else this.#attempt(n + 1, retries, resolve, reject)
          }),
        {
          retries: retries - 1,
          minTimeout: 0,
          maxTimeout: 0,
          // Only a failure this class judged retriable comes back for another attempt.
          shouldRetry: ({ error }) => error instanceof AttemptFailed,
          onFailedAttempt: ({ error, attemptNumber }) =>
            wait(error as unknown as AttemptFailed, attemptNumber + 1),
        },
      )
    } catch (error) {
      if (this.#finished) return
      if (error instanceof AttemptFailed) this.#respondFailure(error.outcome, true)
      else this.#fail(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** Whether a failed attempt may be followed by another: policy, budget and breaker allow it. */
  #mayRetry(outcome: AttemptOutcome, attempt: number, retries: number): boolean {
    const { decision, cluster } = this.#ctx
    if (attempt > retries || !decision.retry.shouldRetry(outcome)) return false
    if (!cluster.budget.canRetry(cluster.pool.active, cluster.pool.retries)) {
      const telemetry = this.#ctx.telemetry
      if (telemetry) observe(() => telemetry.retryBudgetExhausted(cluster.name))
      return false
    }
    return true
  }

  /**
   * Sends attempt `attempt`. It ends in `resolve` when it is over for the retry loop (its
   * response is the caller's, or the caller was answered) and in `reject` with an
   * AttemptFailed when the policy allows another attempt.
   */
  #attempt(
    attempt: number,
    retries: number,
    resolve: () => void,
    reject: (failed: AttemptFailed) => void,
  ): void {
    const { cluster, decision, dispatch, now } = this.#ctx
    const endpoint = cluster.passthrough ? undefined : this.#pickEndpoint()
    if (!cluster.passthrough && endpoint === undefined) {
      this.#respondLocal(503, ResponseFlag.noHealthyUpstream, 'no healthy upstream')
      resolve()
      return
    }
    if (cluster.pool.admitRequest() === 'overflow') {
      this.#respondLocal(
        503,
        ResponseFlag.overflow,
        'upstream connect error or disconnect/reset before headers. reset reason: overflow',
      )
      resolve()
      return
    }
    const retrying = attempt > 1
    if (retrying && cluster.pool.admitRetry() === 'overflow') {
      cluster.pool.releaseRequest()
      this.#respondLocal(503, ResponseFlag.overflow, 'upstream retry overflow')
      resolve()
      return
    }
    this.#attempts = attempt
    const index = endpoint ? cluster.indexOf(endpoint) : -1
    if (index >= 0) cluster.active[index] = (cluster.active[index] ?? 0) + 1
    const remaining = this.#deadlineMs === undefined ? undefined : Math.max(0, this.#deadlineMs - now())
    const tryTimeout = attemptTimeoutMs(decision.retry.perTryTimeoutMs, remaining)

    const handler = new Attempt(this, attempt, retries, cluster, index, retrying, now, resolve, reject)
    this.#current = handler
    if (tryTimeout !== undefined && tryTimeout < (remaining ?? Number.POSITIVE_INFINITY))
      handler.limit(tryTimeout)
    // Object.assign, not spread: on the caller's varied header and option objects, V8's object
    // spread takes a slow path costing microseconds per copy (measured on Node 20).
    const headers: Headers = Object.assign({}, this.#ctx.headers)
    headers.host = decision.authority
    if (decision.requestHeaders.length) applyOperations(headers, decision.requestHeaders)
    if (tryTimeout !== undefined) {
      headers[HTTP_DEADLINE_HEADER] = String(Math.floor(tryTimeout))
      if (single(headers['content-type'])?.startsWith('application/grpc')) {
        headers[GRPC_TIMEOUT_HEADER] = formatGrpcTimeout(tryTimeout)
      }
    }
    const origin =
      index >= 0
        ? `${cluster.isMutualTls(index) ? 'https' : this.#ctx.scheme}://${cluster.keyOf(index)}`
        : `${this.#ctx.scheme}://${decision.target.host}:${decision.target.port}`
    const observer = this.#ctx.observer
    if (observer) handler.observe(observe(() => observer.attempt(attempt, endpoint, headers)))
    const options: Dispatcher.DispatchOptions = Object.assign({}, this.#ctx.opts)
    options.origin = origin
    options.path = decision.path
    options.headers = headers
    const breaker = cluster.breaker
    if (!breaker) {
      handler.send(() => dispatch(options, handler))
      return
    }
    breaker
      .fire(() => handler.guard(() => handler.send(() => dispatch(options, handler))))
      .catch((error: unknown) => {
        if (!isOpenCircuit(error)) return
        handler.release(undefined)
        handler.observed(undefined, error as Error)
        this.#respondLocal(503, ResponseFlag.overflow, 'circuit breaker open')
        resolve()
      })
  }

  // The methods below are called by the request's attempts (Attempt), not by other code.

  /** Undici connected an attempt: whether it is still the one the request waits for. */
  attemptConnected(attempt: Attempt): boolean {
    return !this.#finished && this.#current === attempt
  }

  attemptUpgraded(statusCode: number, headers: Buffer[], socket: Duplex): void {
    this.#commit()
    this.#caller.onUpgrade?.(statusCode, headers, socket)
  }

  /**
   * An attempt's response began. Retry (the attempt is aborted and rejected) when the policy,
   * budget and breaker allow; otherwise it becomes the caller's response.
   */
  attemptResponded(
    attempt: Attempt,
    statusCode: number,
    headers: Buffer[],
    resume: () => void,
    statusText: string,
  ): boolean {
    const { decision } = this.#ctx
    const grpcStatus = rawHeaderValue(headers, 'grpc-status')
    const outcome: AttemptOutcome =
      grpcStatus === undefined
        ? { kind: 'response', status: statusCode }
        : { kind: 'response', status: statusCode, grpcStatus: Number(grpcStatus) }
    attempt.release(outcome)
    if (this.#finished) {
      attempt.abort(new Error('weft: request already answered'))
      return true
    }
    const retriable = decision.retry.shouldRetry(outcome)
    if (retriable && this.#mayRetry(outcome, attempt.number, attempt.retries)) {
      attempt.retry(outcome, rawHeaderValue(headers, 'retry-after'), true)
      return true
    }
    if (retriable && attempt.retries > 0 && attempt.number > attempt.retries)
      this.#flags.push(ResponseFlag.retryLimit)
    this.#commit()
    this.#status = statusCode
    // The upstream's headers pass as the socket delivered them unless the mesh has something to change.
    let out = headers
    if (decision.responseHeaders.length || this.#flags.length || this.#ctx.setCookie) {
      const changed = parseRawHeaders(headers)
      applyOperations(changed, decision.responseHeaders)
      if (this.#flags.length) changed[RESPONSE_FLAGS_HEADER] = this.#flags.join(',')
      if (this.#ctx.setCookie) {
        changed['set-cookie'] = ([] as string[]).concat(changed['set-cookie'] ?? [], this.#ctx.setCookie)
      }
      out = toRawHeaders(changed)
    }
    attempt.commit()
    attempt.succeed()
    return this.#caller.onHeaders(statusCode, out, resume, statusText)
  }

  attemptData(chunk: Buffer): boolean {
    if (!this.#committed || this.#finished) return true
    if (this.#ctx.observer) this.#responseBytes += chunk.length
    return this.#caller.onData(chunk)
  }

  attemptEnded(trailers: (Buffer | string)[] | null): void {
    if (!this.#committed || this.#finished) return
    this.#finish()
    this.#caller.onComplete(trailers)
  }

  /** An attempt failed before or while streaming: retry, answer as Envoy would, or pass the error on. */
  attemptFailed(attempt: Attempt, outcome: AttemptOutcome, error: Error): void {
    if (this.#finished) {
      attempt.succeed()
      return
    }
    if (this.#aborted || this.#committed) {
      attempt.succeed()
      const reason = this.#aborted ?? error
      this.#finish(reason)
      this.#caller.onError(reason)
      return
    }
    if (this.#mayRetry(outcome, attempt.number, attempt.retries)) {
      attempt.retry(outcome, undefined, false)
      return
    }
    const { decision } = this.#ctx
    this.#respondFailure(
      outcome,
      attempt.retries > 0 && attempt.number > attempt.retries && decision.retry.shouldRetry(outcome),
    )
    attempt.succeed()
  }

  /**
   * Istio adds Envoy's previous-hosts predicate to every retry policy (unless the balancer hashes
   * requests, where the same host is the point): up to 5 picks to find an endpoint not yet tried.
   */
  #pickEndpoint(): Endpoint | undefined {
    const { cluster, hash, now } = this.#ctx
    let endpoint = cluster.pick(hash, now())
    const previous = this.#lastEndpoint
    if (previous !== undefined && hash === undefined && !cluster.consistentHash) {
      // A retry. The set is made then: most requests never need it.
      this.#tried ??= new Set([previous])
      const tried = this.#tried
      for (let i = 1; i < 5 && endpoint !== undefined && tried.has(endpoint); i++)
        endpoint = cluster.pick(hash, now())
    }
    if (endpoint) {
      this.#tried?.add(endpoint)
      this.#lastEndpoint = endpoint
    }
    return endpoint
  }

  #commit(): void {
    this.#committed = true
    clearTimeout(this.#routeTimer)
  }

  #finish(error?: Error): void {
    this.#finished = true
    clearTimeout(this.#routeTimer)
    const { decision, onRequestEnd, observer, now } = this.#ctx
    if (!onRequestEnd && !observer) return
    const last = this.#lastEndpoint
    const event: OutboundRequestEvent = {
      host: decision.host,
      rule: decision.rule,
      target: decision.target,
      endpoint: last ? `${last.address}:${last.port}` : undefined,
      ...(last ? { destination: last } : {}),
      status: error ? undefined : this.#status,
      flags: [...this.#flags],
      attempts: this.#attempts,
      durationMs: now() - this.#startedAtMs,
      error,
      responseBytes: this.#responseBytes,
    }
    report(onRequestEnd, event)
    if (observer) observe(() => observer.end(event))
  }

  #onRouteTimeout(): void {
    if (this.#finished) return
    // With headers out already, all Envoy can do is reset the stream.
    if (!this.#committed) this.#respondLocal(504, ResponseFlag.timeout, 'upstream request timeout')
    this.#current?.abort(new Error('weft: route timeout'))
  }

  /**
   * The caller aborted. An attempt undici is running reports the abort through its error
   * callback; otherwise (before the first attempt connects, between attempts) the caller hears
   * it now, and an attempt still queued is stopped when it connects.
   */
  readonly #abortByCaller = (error: Error): void => {
    if (this.#finished || this.#aborted) return
    this.#aborted = error
    const current = this.#current
    if (current?.inFlight) {
      current.abort(error)
      return
    }
    current?.abort(error)
    this.#finish(error)
    this.#caller.onError(error)
  }

  /** A programming error (bad dispatch options): the caller gets the error itself. */
  #fail(error: Error): void {
    if (this.#finished) return
    this.#finish(error)
    this.#caller.onError(error)
  }

  #respondFailure(outcome: AttemptOutcome | undefined, exhausted: boolean): void {
    if (exhausted) this.#flags.push(ResponseFlag.retryLimit)
    if (outcome?.kind === 'timeout') this.#respondLocal(504, ResponseFlag.timeout, 'upstream request timeout')
    else if (outcome?.kind === 'connect-failure') {
      this.#respondLocal(
        503,
        ResponseFlag.connectionFailure,
        'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
      )
    } else
      this.#respondLocal(
        503,
        ResponseFlag.upstreamReset,
        'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
      )
  }

  #respondLocal(status: number, flag: string, body: string): void {
    if (this.#finished || this.#committed) return
    this.#flags.push(flag)
    this.#status = status
    if (this.#ctx.observer) this.#responseBytes += Buffer.byteLength(body)
    this.#finish()
    respondLocally(
      this.#caller,
      this.#ctx.cancel,
      status,
      { [RESPONSE_FLAGS_HEADER]: this.#flags.join(',') },
      body,
    )
  }
}
