import { parseDurationMs, type RequestAuthentication } from '@weft/config'
import { decodeJwt } from 'jose'
import {
  type JwtError,
  JwtIssuerNotConfiguredError,
  JwtMalformedError,
  JwtMissingError,
  JwtRuleError,
} from './errors.js'
import { fetchJwksDirect, type JwksFetch } from './jwks-fetch.js'
import type { JwtOutcome } from './jwt-outcome.js'
import { asJwtError, JwtRule } from './jwt-rule.js'
import { inlineKeySource, type KeySource, RemoteKeySource } from './key-source.js'
import {
  cookieLocation,
  DEFAULT_LOCATIONS,
  extractTokens,
  type FoundToken,
  headerLocation,
  type JwtRequestHeaders,
  paramLocation,
  type TokenLocation,
} from './token-location.js'
import type { VerifiedToken } from './verified-token-cache.js'

export interface JwtAuthenticatorOptions {
  /**
   * What fetches `jwksUri` key sets. Default: a direct `node:http(s)` request, which never goes
   * through a global fetch or dispatcher the application set.
   */
  readonly fetch?: JwksFetch
  /** Allowed clock difference for `exp` and `nbf`. Default 60, Envoy's. */
  readonly clockSkewSeconds?: number
  /** How long a fetched key set is used before it is fetched again. Default 600 000 (10 min). */
  readonly jwksCacheMaxAgeMs?: number
  /** After a successful fetch, how long before an unknown `kid` may fetch again. Default 30 000. */
  readonly jwksCooldownMs?: number
  /** After a failed fetch, how long tokens are refused before the next try. Default 1000, Envoy's. */
  readonly jwksFailedRefetchMs?: number
  /** Verified tokens remembered per rule (Envoy's `jwt_cache_size`). Default 100. */
  readonly verifiedTokenCacheSize?: number
}

/** What `authenticate` reads from a request. */
export interface JwtRequest {
  /** Lower-case names; a repeated header as a list (Node's `headersDistinct`). */
  readonly headers: JwtRequestHeaders
  /** The raw query, `''` or starting with `?`. */
  readonly query: string
}

const NO_TOKEN: JwtOutcome = Object.freeze({ kind: 'none' })
const NONE: readonly string[] = Object.freeze([])
const JWKS_TIMEOUT_MS = 5000

/**
 * A workload's RequestAuthentication rules, compiled once. `authenticate` answers synchronously
 * when no token is present or the token was verified before (a map lookup); otherwise it returns
 * a promise that verifies the token with jose.
 */
export class JwtAuthenticator {
  readonly rules: readonly JwtRule[]
  /** Every location some rule reads, each once, in the order the rules name them. */
  readonly locations: readonly TokenLocation[]
  /**
   * Header names rules write (`outputPayloadToHeader`, `outputClaimToHeaders`): removed from
   * every request first, so that a client cannot send them itself.
   */
  readonly outputHeaders: readonly string[]
  /** Some rule has `presence: REQUIRED`: a request without a token is refused. */
  readonly required: boolean
  readonly #byLocation: ReadonlyMap<string, readonly JwtRule[]>

  constructor(rules: readonly JwtRule[]) {
    const byLocation = new Map<string, JwtRule[]>()
    const locations: TokenLocation[] = []
    for (const rule of rules) {
      for (const location of rule.locations) {
        const list = byLocation.get(location.key)
        if (list) list.push(rule)
        else {
          byLocation.set(location.key, [rule])
          locations.push(location)
        }
      }
    }
    const outputs = new Set<string>()
    for (const rule of rules) {
      if (rule.outputPayloadToHeader) outputs.add(rule.outputPayloadToHeader)
      for (const { header } of rule.outputClaimToHeaders) outputs.add(header)
    }
    this.rules = Object.freeze([...rules])
    this.locations = Object.freeze(locations)
    this.outputHeaders = Object.freeze([...outputs])
    this.required = rules.some((rule) => rule.required)
    this.#byLocation = byLocation
    Object.freeze(this)
  }

  /**
   * Istio's outcome for one request. With several tokens (several locations, or a header sent
   * twice), the request is authenticated by the first that verifies, as Envoy's `requires_any`
   * over the rules; it is refused only if none does, with the first token's failure.
   */
  authenticate(request: JwtRequest, nowMs: number = Date.now()): JwtOutcome | Promise<JwtOutcome> {
    if (this.locations.length === 0) return NO_TOKEN
    const found = extractTokens(this.locations, request.headers, request.query)
    if (found.length === 0)
      return this.required ? { kind: 'invalid', error: new JwtMissingError() } : NO_TOKEN
    for (const item of found) {
      for (const rule of this.#rulesAt(item.location)) {
        const hit = rule.cached(item.token, nowMs)
        if (hit) return valid(rule, item, hit)
      }
    }
    return this.#verify(found, nowMs)
  }

  async #verify(found: readonly FoundToken[], nowMs: number): Promise<JwtOutcome> {
    let failure: JwtError | undefined
    for (const item of found) {
      let issuer: unknown
      try {
        issuer = decodeJwt(item.token).iss
      } catch (cause) {
        failure ??= new JwtMalformedError({ cause })
        continue
      }
      const rules = this.#rulesAt(item.location).filter((rule) => rule.accepts(issuer))
      if (rules.length === 0) failure ??= new JwtIssuerNotConfiguredError()
      for (const rule of rules) {
        try {
          return valid(rule, item, await rule.verify(item.token, nowMs))
        } catch (error) {
          failure ??= asJwtError(error)
        }
      }
    }
    return { kind: 'invalid', error: failure ?? new JwtMalformedError() }
  }

  #rulesAt(location: TokenLocation): readonly JwtRule[] {
    return this.#byLocation.get(location.key) ?? NONE_RULES
  }
}

const NONE_RULES: readonly JwtRule[] = Object.freeze([])

function valid(rule: JwtRule, item: FoundToken, verified: VerifiedToken): JwtOutcome {
  // Envoy removes a forwarded-off token from its header; a token in the query or a cookie stays.
  const remove = !rule.forwardOriginalToken && item.location.kind === 'header' ? [item.location.name] : NONE
  return {
    kind: 'valid',
    rule: rule.name,
    principal: verified.principal,
    claims: verified.claims,
    removeHeaders: remove,
    setHeaders: verified.setHeaders,
  }
}

type JwtRuleSpec = NonNullable<RequestAuthentication['spec']['jwtRules']>[number]

function locationsOf(spec: JwtRuleSpec): readonly TokenLocation[] {
  const headers = spec.fromHeaders ?? []
  const params = spec.fromParams ?? []
  const cookies = spec.fromCookies ?? []
  if (headers.length === 0 && params.length === 0 && cookies.length === 0) return DEFAULT_LOCATIONS
  return [
    ...headers.map((h) => headerLocation(h.name, h.prefix ?? '')),
    ...params.map((p) => paramLocation(p)),
    ...cookies.map((c) => cookieLocation(c)),
  ]
}

/**
 * Compiles the RequestAuthentications that govern one workload (`snapshot.policiesFor(…)
 * .requestAuthentication`) into a JwtAuthenticator. Throws JwtRuleError for a rule with neither
 * usable `jwks` nor `jwksUri`; validation refuses those before they get here.
 */
export function createJwtAuthenticator(
  policies: readonly RequestAuthentication[],
  options: JwtAuthenticatorOptions = {},
): JwtAuthenticator {
  const remotes = new Map<string, KeySource>()
  const rules: JwtRule[] = []
  for (const policy of policies) {
    const { namespace, name } = policy.metadata
    ;(policy.spec.jwtRules ?? []).forEach((spec, index) => {
      const ruleName = `RequestAuthentication/${namespace}/${name}#jwtRules[${index}]`
      rules.push(
        new JwtRule({
          name: ruleName,
          issuer: spec.issuer,
          audiences: spec.audiences ?? [],
          locations: locationsOf(spec),
          forwardOriginalToken: spec.forwardOriginalToken === true,
          outputPayloadToHeader: spec.outputPayloadToHeader?.toLowerCase() || undefined,
          outputClaimToHeaders: (spec.outputClaimToHeaders ?? []).map((o) => ({
            claim: o.claim,
            header: o.header.toLowerCase(),
          })),
          spaceDelimitedClaims: spec.spaceDelimitedClaims ?? [],
          required: spec.presence === 'REQUIRED',
          keys: keySourceOf(ruleName, spec, remotes, options),
          clockSkewSeconds: options.clockSkewSeconds ?? 60,
          cacheSize: options.verifiedTokenCacheSize ?? 100,
        }),
      )
    })
  }
  return new JwtAuthenticator(rules)
}

function keySourceOf(
  ruleName: string,
  spec: JwtRuleSpec,
  remotes: Map<string, KeySource>,
  options: JwtAuthenticatorOptions,
): KeySource {
  // Istio prefers inline keys when both are given.
  if (spec.jwks) return inlineKeySource(ruleName, spec.jwks)
  const uri = spec.jwksUri ?? spec.jwks_uri
  if (!uri) throw new JwtRuleError(ruleName, 'neither jwks nor jwksUri is set')
  try {
    const url = new URL(uri)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(url.protocol)
  } catch {
    throw new JwtRuleError(ruleName, `jwksUri ${JSON.stringify(uri)} is not an http(s) URL`)
  }
  const parsed = spec.timeout ? parseDurationMs(spec.timeout) : undefined
  const timeoutMs = parsed !== undefined && parsed > 0 ? Math.round(parsed) : JWKS_TIMEOUT_MS
  const key = `${uri} ${timeoutMs}`
  let source = remotes.get(key)
  if (!source) {
    source = new RemoteKeySource(uri, {
      fetch: options.fetch ?? fetchJwksDirect,
      cacheMaxAgeMs: options.jwksCacheMaxAgeMs ?? 600_000,
      cooldownMs: options.jwksCooldownMs ?? 30_000,
      failedRefetchMs: options.jwksFailedRefetchMs ?? 1000,
      timeoutMs,
    })
    remotes.set(key, source)
  }
  return source
}
