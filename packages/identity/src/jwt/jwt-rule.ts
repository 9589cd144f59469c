import { jwtVerify } from 'jose'
import {
  JwtAlgorithmError,
  JwtAudienceError,
  JwtClaimError,
  JwtError,
  JwtExpiredError,
  JwtIssuerNotConfiguredError,
  JwtMalformedError,
  JwtNotYetValidError,
  JwtSignatureError,
  JwtUnknownKeyError,
} from './errors.js'
import type { KeySource } from './key-source.js'
import type { TokenLocation } from './token-location.js'
import { type VerifiedToken, VerifiedTokenCache } from './verified-token-cache.js'

/** Claims Istio always treats as space-delimited lists, beside a rule's `spaceDelimitedClaims`. */
const SPACE_DELIMITED = ['scope', 'permission'] as const

export interface JwtRuleSettings {
  /** `RequestAuthentication/ns/name#jwtRules[i]`, for logs and decisions. */
  readonly name: string
  readonly issuer: string | undefined
  /** Empty: `aud` is not checked, as Istio configures Envoy. */
  readonly audiences: readonly string[]
  readonly locations: readonly TokenLocation[]
  readonly forwardOriginalToken: boolean
  readonly outputPayloadToHeader: string | undefined
  readonly outputClaimToHeaders: readonly { readonly claim: string; readonly header: string }[]
  readonly spaceDelimitedClaims: readonly string[]
  readonly required: boolean
  readonly keys: KeySource
  readonly clockSkewSeconds: number
  readonly cacheSize: number
}

/** One jwtRule, compiled: where it reads tokens, how it verifies them, what it outputs. */
export class JwtRule {
  readonly name: string
  readonly issuer: string | undefined
  readonly audiences: readonly string[]
  readonly locations: readonly TokenLocation[]
  readonly forwardOriginalToken: boolean
  readonly outputPayloadToHeader: string | undefined
  readonly outputClaimToHeaders: readonly { readonly claim: string; readonly header: string }[]
  readonly required: boolean
  readonly keys: KeySource
  readonly #spaceDelimited: readonly string[]
  readonly #clockSkewSeconds: number
  readonly #cache: VerifiedTokenCache

  constructor(settings: JwtRuleSettings) {
    this.name = settings.name
    this.issuer = settings.issuer
    this.audiences = settings.audiences
    this.locations = settings.locations
    this.forwardOriginalToken = settings.forwardOriginalToken
    this.outputPayloadToHeader = settings.outputPayloadToHeader
    this.outputClaimToHeaders = settings.outputClaimToHeaders
    this.required = settings.required
    this.keys = settings.keys
    this.#spaceDelimited = [...new Set([...SPACE_DELIMITED, ...settings.spaceDelimitedClaims])]
    this.#clockSkewSeconds = settings.clockSkewSeconds
    this.#cache = new VerifiedTokenCache(settings.cacheSize)
  }

  /** Whether a token with this `iss` is this rule's to verify (Envoy's provider issuer check). */
  accepts(issuer: unknown): boolean {
    return this.issuer === undefined || this.issuer === '' || issuer === this.issuer
  }

  /** The token's verification, if this rule verified it before and it still holds. */
  cached(token: string, nowMs: number): VerifiedToken | undefined {
    const keys = this.keys
    if (!keys.fresh()) return undefined
    return this.#cache.get(token, nowMs, keys.generation)
  }

  /** Verifies the token's signature and claims; throws a JwtError saying why it fails. */
  async verify(token: string, nowMs: number): Promise<VerifiedToken> {
    const generation = this.keys.generation
    let payload: Record<string, unknown>
    try {
      const result = await jwtVerify(token, this.keys.getKey, {
        ...(this.issuer ? { issuer: this.issuer } : {}),
        ...(this.audiences.length > 0 ? { audience: [...this.audiences] } : {}),
        clockTolerance: this.#clockSkewSeconds,
        currentDate: new Date(nowMs),
      })
      payload = result.payload as Record<string, unknown>
    } catch (error) {
      throw asJwtError(error)
    }
    const verified = this.#verified(token, payload, generation)
    // The key set may have changed while this token was being verified: cache only what the
    // current keys vouch for.
    if (generation === this.keys.generation) this.#cache.set(token, verified)
    return verified
  }

  #verified(token: string, payload: Record<string, unknown>, generation: number): VerifiedToken {
    const claims: Record<string, unknown> = { ...payload }
    for (const name of this.#spaceDelimited) {
      const value = claims[name]
      if (typeof value === 'string') claims[name] = value.split(' ').filter((part) => part !== '')
    }
    const setHeaders: Record<string, string> = {}
    if (this.outputPayloadToHeader) {
      setHeaders[this.outputPayloadToHeader] = token.slice(token.indexOf('.') + 1, token.lastIndexOf('.'))
    }
    for (const { claim, header } of this.outputClaimToHeaders) {
      const value = payload[claim]
      // Istio copies only strings, numbers and booleans; other claim types are left out.
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        setHeaders[header] = String(value)
      }
    }
    const exp = payload.exp
    return Object.freeze({
      principal: `${String(payload.iss ?? '')}/${String(payload.sub ?? '')}`,
      claims: Object.freeze(claims),
      setHeaders: Object.freeze(setHeaders),
      expiresAtMs: typeof exp === 'number' ? exp * 1000 : Number.POSITIVE_INFINITY,
      generation,
    })
  }
}

/** jose's failure, as the JwtError a client's 401 reports. */
export function asJwtError(error: unknown): JwtError {
  if (error instanceof JwtError) return error
  const code = (error as { code?: unknown } | null)?.code
  const options = { cause: error }
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new JwtExpiredError(options)
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = String((error as { claim?: unknown }).claim)
      if (claim === 'nbf') return new JwtNotYetValidError(options)
      if (claim === 'aud') return new JwtAudienceError(options)
      if (claim === 'iss') return new JwtIssuerNotConfiguredError()
      return new JwtClaimError(claim, options)
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new JwtSignatureError(options)
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new JwtUnknownKeyError(options)
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new JwtAlgorithmError(options)
    default:
      return new JwtMalformedError(options)
  }
}
