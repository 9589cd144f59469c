import type { Snapshot } from '@weft/config'
import {
  type AuthorizationDecision,
  type AuthorizationRequest,
  type NormalizedPath,
  normalizePath,
  type PathNormalizationOptions,
} from '@weft/core'
import type { JwtAuthenticatorOptions, JwtOutcome } from '@weft/identity'
import { InboundPipelineError, InboundPolicyCompileError } from './errors.js'
import { type ExtAuthzClient, type ExtAuthzResult, missingProvider } from './ext-authz.js'
import { type InboundDecisionHook, reportDecision } from './inbound-event.js'
import { type CompiledInboundPolicy, compileInboundPolicy, type Workload } from './inbound-policy.js'
import type { InboundHeaders, InboundRequest } from './inbound-request.js'
import {
  GrpcStatus,
  grpcStatusOf,
  type InboundAllow,
  type InboundDeny,
  type InboundStage,
  type InboundVerdict,
} from './inbound-verdict.js'
import type { RateLimitRequest } from './rate-limit/rate-limit-match.js'

/** Where the pipeline reports what went wrong inside it. Tokens are never passed to it. */
export interface InboundLogger {
  error(message: string, error?: unknown): void
}

export interface PipelineSettings {
  readonly snapshot: () => Snapshot
  readonly workload: Workload
  readonly pathNormalization: PathNormalizationOptions
  readonly jwt: JwtAuthenticatorOptions
  /** CUSTOM providers by name. */
  readonly providers: ReadonlyMap<string, ExtAuthzClient>
  readonly onInboundDecision: InboundDecisionHook | undefined
  readonly logger: InboundLogger
  /** Monotonic milliseconds, for token buckets. */
  readonly nowMs: () => number
}

const NO_NAMES: readonly string[] = Object.freeze([])
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({})
const RBAC_DENIED = 'RBAC: access denied'

/** What one request's evaluation gathered for its decision event. */
class Evaluation {
  readonly startedMs: number
  path: string
  requestPrincipal: string | undefined
  decision: AuthorizationDecision | undefined
  // Made when first needed: most requests ask no CUSTOM provider and meet no dry-run limit.
  custom: string[] | undefined
  customMs = 0
  rateLimitDryRun: string[] | undefined

  constructor(request: InboundRequest, startedMs: number) {
    this.path = request.target
    this.startedMs = startedMs
  }
}

/** `headers` without `names`; the same object when none is present. */
function without(headers: InboundHeaders, names: readonly string[]): [InboundHeaders, readonly string[]] {
  let present: string[] | undefined
  for (const name of names) {
    if (headers[name] === undefined) continue
    present ??= []
    present.push(name)
  }
  if (!present) return [headers, NO_NAMES]
  const copy: Record<string, string | readonly string[] | undefined> = { ...headers }
  for (const name of present) delete copy[name]
  return [copy, present]
}

function edited(
  headers: InboundHeaders,
  remove: readonly string[],
  set: Readonly<Record<string, string>>,
): InboundHeaders {
  const copy: Record<string, string | readonly string[] | undefined> = { ...headers }
  for (const name of remove) delete copy[name]
  Object.assign(copy, set)
  return copy
}

/** What the authorizer reads of a request; built without spreads, as it is for every request. */
function authorizationRequestOf(
  request: InboundRequest,
  normalized: NormalizedPath & { ok: true },
  headers: InboundHeaders,
  claims: Readonly<Record<string, unknown>> | undefined,
): AuthorizationRequest {
  const out: { -readonly [K in keyof AuthorizationRequest]: AuthorizationRequest[K] } = {
    method: request.method,
    path: normalized.path,
    query: normalized.query,
    host: request.host,
    headers,
    source: { principal: request.principal, ip: request.remoteIp },
    destination: { ip: request.localIp, port: request.localPort },
  }
  if (claims) out.auth = { claims }
  if (request.sni) out.sni = request.sni
  return out
}

/** A value fit for a quoted-string in `WWW-Authenticate`. */
function quoted(text: string): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) out += text[i]
  }
  return out
}

/**
 * The inbound checks, in the one order they run, for every adapter: path normalisation, JWT
 * (RequestAuthentication), CUSTOM external authorizers, DENY/ALLOW (AuthorizationPolicy,
 * with AUDIT and dry-run reported), then RateLimitPolicy. `evaluate` stays synchronous unless
 * a token must be verified or an authorizer asked, and never throws or rejects: an error
 * inside denies (500) and is logged.
 */
export class PolicyPipeline {
  readonly #settings: PipelineSettings
  #snapshot: Snapshot | undefined
  #compiled: CompiledInboundPolicy | undefined
  #failure: InboundPolicyCompileError | undefined

  constructor(settings: PipelineSettings) {
    this.#settings = settings
  }

  /** The policy for the current snapshot, compiled on first use of each version. */
  current(): CompiledInboundPolicy {
    const snapshot = this.#settings.snapshot()
    if (snapshot === this.#snapshot) {
      if (this.#failure) throw this.#failure
      return this.#compiled as CompiledInboundPolicy
    }
    if (this.#compiled && !this.#failure && snapshot.version === this.#compiled.version) {
      this.#snapshot = snapshot
      return this.#compiled
    }
    this.#snapshot = snapshot
    try {
      const s = this.#settings
      this.#compiled = compileInboundPolicy(
        snapshot,
        s.workload,
        s.pathNormalization,
        s.jwt,
        this.#compiled,
        s.nowMs(),
      )
      this.#failure = undefined
      return this.#compiled
    } catch (cause) {
      this.#failure = new InboundPolicyCompileError(snapshot.version, { cause })
      this.#settings.logger.error(this.#failure.message, cause)
      throw this.#failure
    }
  }

  /** The request target with its path normalised, or as given when normalisation refuses it. */
  normalizeTarget(target: string): string {
    const normalized = normalizePath(target, this.#settings.pathNormalization)
    return normalized.ok ? normalized.path + normalized.query : target
  }

  evaluate(request: InboundRequest): InboundVerdict | Promise<InboundVerdict> {
    const evaluation = new Evaluation(request, this.#settings.onInboundDecision ? performance.now() : 0)
    try {
      const result = this.#start(this.current(), request, evaluation)
      if (result instanceof Promise)
        return result.catch((error) => this.#internal(request, evaluation, error))
      return result
    } catch (error) {
      return this.#internal(request, evaluation, error)
    }
  }

  #start(policy: CompiledInboundPolicy, request: InboundRequest, evaluation: Evaluation) {
    const normalized = normalizePath(request.target, policy.pathNormalization)
    if (!normalized.ok) {
      return this.#deny(
        request,
        evaluation,
        'path',
        400,
        GrpcStatus.INTERNAL,
        'Bad Request',
        NO_HEADERS,
        `path:${normalized.reason}`,
      )
    }
    evaluation.path = normalized.path
    if (normalized.redirect) {
      // Envoy's UNESCAPE_AND_REDIRECT: the client is sent to the unescaped path.
      const location = normalized.path + normalized.query
      return this.#deny(
        request,
        evaluation,
        'path',
        307,
        GrpcStatus.INTERNAL,
        '',
        { location },
        'path:redirect',
      )
    }
    const [headers, stripped] = without(request.headers, policy.jwt.outputHeaders)
    const outcome = policy.jwt.authenticate({ headers, query: normalized.query })
    if (outcome instanceof Promise) {
      return outcome.then((o) =>
        this.#afterJwt(policy, request, evaluation, normalized, headers, stripped, o),
      )
    }
    return this.#afterJwt(policy, request, evaluation, normalized, headers, stripped, outcome)
  }

  #afterJwt(
    policy: CompiledInboundPolicy,
    request: InboundRequest,
    evaluation: Evaluation,
    normalized: NormalizedPath & { ok: true },
    headers: InboundHeaders,
    stripped: readonly string[],
    outcome: JwtOutcome,
  ): InboundVerdict | Promise<InboundVerdict> {
    if (outcome.kind === 'invalid') {
      const realm = quoted(`${request.scheme}://${request.host ?? ''}${normalized.path}`)
      const challenge =
        outcome.error.code === 'WEFT_JWT_MISSING'
          ? `Bearer realm="${realm}"`
          : `Bearer realm="${realm}", error="invalid_token"`
      return this.#deny(
        request,
        evaluation,
        'jwt',
        401,
        GrpcStatus.UNAUTHENTICATED,
        outcome.error.reason,
        { 'www-authenticate': challenge },
        `jwt:${outcome.error.code}`,
      )
    }
    let view = headers
    let remove = stripped
    let set = NO_HEADERS
    let claims: Readonly<Record<string, unknown>> | undefined
    if (outcome.kind === 'valid') {
      evaluation.requestPrincipal = outcome.principal
      claims = outcome.claims
      set = outcome.setHeaders
      if (outcome.removeHeaders.length > 0 || Object.keys(set).length > 0) {
        view = edited(headers, outcome.removeHeaders, set)
        remove = remove.length === 0 ? outcome.removeHeaders : [...remove, ...outcome.removeHeaders]
      }
    }
    const decision = policy.authorizer.decide(authorizationRequestOf(request, normalized, view, claims))
    evaluation.decision = decision
    const url = normalized.path + normalized.query
    if (decision.custom.length === 0) {
      return this.#afterAuthorization(policy, request, evaluation, url, view, claims, remove, set, NO_HEADERS)
    }
    return this.#askCustom(request, evaluation, decision, url, view).then((asked) => {
      if (!asked.allowed) {
        const reason = asked.reason === 'error' ? 'custom:error' : 'custom:denied'
        if (asked.error) this.#settings.logger.error(asked.error.message, asked.error.cause)
        return this.#deny(
          request,
          evaluation,
          'custom',
          asked.status,
          grpcStatusOf(asked.status),
          asked.body,
          asked.headers,
          reason,
        )
      }
      const upstream = asked.upstreamHeaders
      const nextSet = Object.keys(upstream).length === 0 ? set : { ...set, ...upstream }
      return this.#afterAuthorization(
        policy,
        request,
        evaluation,
        url,
        view,
        claims,
        remove,
        nextSet,
        asked.downstreamHeaders,
      )
    })
  }

  /** Asks each CUSTOM provider in turn; the first that denies answers. */
  async #askCustom(
    request: InboundRequest,
    evaluation: Evaluation,
    decision: AuthorizationDecision,
    url: string,
    headers: InboundHeaders,
  ): Promise<ExtAuthzResult> {
    const started = performance.now()
    let upstream: Record<string, string> = {}
    let downstream: Record<string, string> = {}
    try {
      for (const check of decision.custom) {
        evaluation.custom ??= []
        evaluation.custom.push(check.provider)
        const client = this.#settings.providers.get(check.provider)
        const result = client
          ? await client.check({ method: request.method, url, host: request.host, headers })
          : missingProvider(check.provider)
        if (!result.allowed) return result
        upstream = { ...upstream, ...result.upstreamHeaders }
        downstream = { ...downstream, ...result.downstreamHeaders }
      }
      return { allowed: true, upstreamHeaders: upstream, downstreamHeaders: downstream }
    } finally {
      evaluation.customMs = performance.now() - started
    }
  }

  #afterAuthorization(
    policy: CompiledInboundPolicy,
    request: InboundRequest,
    evaluation: Evaluation,
    url: string,
    headers: InboundHeaders,
    claims: Readonly<Record<string, unknown>> | undefined,
    remove: readonly string[],
    set: Readonly<Record<string, string>>,
    responseHeaders: Readonly<Record<string, string>>,
  ): InboundVerdict {
    const decision = evaluation.decision as AuthorizationDecision
    if (decision.verdict === 'deny') {
      return this.#deny(
        request,
        evaluation,
        'authorization',
        403,
        GrpcStatus.PERMISSION_DENIED,
        RBAC_DENIED,
        NO_HEADERS,
        decision.reason,
      )
    }
    let response = responseHeaders
    if (policy.limiters.length > 0) {
      const limited: RateLimitRequest = {
        method: request.method,
        path: evaluation.path,
        headers,
        principal: request.principal,
      }
      const nowMs = this.#settings.nowMs()
      for (const limiter of policy.limiters) {
        const taken = limiter.take(limited, nowMs)
        if (!taken.limited) {
          if (taken.headers && !limiter.dryRun) response = { ...response, ...taken.headers }
          continue
        }
        if (taken.dryRun) {
          evaluation.rateLimitDryRun ??= []
          evaluation.rateLimitDryRun.push(taken.rule)
          continue
        }
        return this.#deny(
          request,
          evaluation,
          'rate-limit',
          taken.status,
          GrpcStatus.RESOURCE_EXHAUSTED,
          'local_rate_limited',
          taken.headers,
          'rate-limited',
          taken.rule,
        )
      }
    }
    const verdict: InboundAllow = {
      allowed: true,
      url,
      path: evaluation.path,
      principal: request.principal,
      requestPrincipal: evaluation.requestPrincipal,
      claims,
      removeHeaders: remove,
      setHeaders: set,
      responseHeaders: response,
    }
    if (this.#settings.onInboundDecision) this.#report(request, evaluation, verdict)
    return verdict
  }

  #deny(
    request: InboundRequest,
    evaluation: Evaluation,
    stage: InboundStage,
    status: number,
    grpcCode: number,
    body: string,
    headers: Readonly<Record<string, string>>,
    reason: string,
    policy?: string,
  ): InboundDeny {
    const verdict: InboundDeny = { allowed: false, stage, status, grpcCode, body, headers, reason }
    if (this.#settings.onInboundDecision) this.#report(request, evaluation, verdict, policy)
    return verdict
  }

  #internal(request: InboundRequest, evaluation: Evaluation, error: unknown): InboundDeny {
    if (!(error instanceof InboundPolicyCompileError)) {
      const wrapped = new InboundPipelineError({ cause: error })
      this.#settings.logger.error(wrapped.message, error)
    }
    return this.#deny(
      request,
      evaluation,
      'internal',
      500,
      GrpcStatus.INTERNAL,
      'internal error',
      NO_HEADERS,
      'internal-error',
    )
  }

  #report(
    request: InboundRequest,
    evaluation: Evaluation,
    verdict: InboundVerdict,
    limitedBy?: string,
  ): void {
    const decision = evaluation.decision
    const decided =
      verdict.allowed || verdict.stage === 'authorization'
        ? decision && 'policy' in decision
          ? { policy: decision.policy, rule: decision.rule }
          : undefined
        : undefined
    reportDecision(this.#settings.onInboundDecision, {
      protocol: request.protocol,
      method: request.method,
      path: evaluation.path,
      verdict: verdict.allowed ? 'allow' : 'deny',
      stage: verdict.allowed ? undefined : verdict.stage,
      reason: verdict.allowed ? (decision?.reason ?? 'allowed') : verdict.reason,
      policy: limitedBy ?? decided?.policy,
      rule: limitedBy ? undefined : decided?.rule,
      status: verdict.allowed ? 200 : verdict.status,
      principal: request.principal,
      requestPrincipal: evaluation.requestPrincipal,
      audit: decision?.audit ?? NO_NAMES,
      dryRun: decision?.dryRun ?? [],
      rateLimitDryRun: evaluation.rateLimitDryRun ?? NO_NAMES,
      custom: evaluation.custom ?? NO_NAMES,
      durationMs: performance.now() - evaluation.startedMs,
      customDurationMs: evaluation.customMs,
    })
  }
}
