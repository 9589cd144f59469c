import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
  type RemoteJWKSet,
} from 'jose'
import { JwksInvalidError, JwksUnavailableError } from './errors.js'
import type { JwksFetch } from './jwks-fetch.js'

/**
 * Where a rule's verification keys come from. `generation` changes whenever the key set does,
 * so that tokens verified with an older set are verified again; `fresh` says whether a token
 * verified before may still be trusted without asking for keys.
 */
export interface KeySource {
  readonly generation: number
  fresh(): boolean
  readonly getKey: JWTVerifyGetKey
}

/** jose errors that mean "this token does not fit the keys", not "the keys could not be had". */
const KEY_MISMATCH = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWK_INVALID',
])

function isKeyMismatch(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && KEY_MISMATCH.has(code)
}

/** Inline `jwks`: parsed once; a key set that does not parse refuses every token of its rule. */
export function inlineKeySource(rule: string, jwks: string): KeySource {
  let getKey: JWTVerifyGetKey
  try {
    getKey = createLocalJWKSet(JSON.parse(jwks) as JSONWebKeySet)
  } catch (cause) {
    const error = new JwksInvalidError(rule, { cause })
    getKey = () => {
      throw error
    }
  }
  return { generation: 0, fresh: () => true, getKey }
}

export interface RemoteKeySourceOptions {
  readonly fetch: JwksFetch
  /** How long a fetched key set is used before it is fetched again (Envoy's `cache_duration`). */
  readonly cacheMaxAgeMs: number
  /** After a successful fetch, how long an unknown `kid` waits before it may trigger another. */
  readonly cooldownMs: number
  /** After a failed fetch, how long tokens are refused at once before the next try. */
  readonly failedRefetchMs: number
  /** The fetch's own timeout (Istio's jwtRule `timeout`). */
  readonly timeoutMs: number
}

/**
 * `jwksUri`: jose's remote key set (cached, refreshed when stale, refetched on an unknown `kid`
 * after a cooldown), fetched through `options.fetch`. While no fresh set can be had, tokens are
 * refused (fail closed), and failed fetches are retried at most every `failedRefetchMs` so that a
 * dead JWKS endpoint is not asked once per request.
 */
export class RemoteKeySource implements KeySource {
  readonly uri: string
  readonly #remote: RemoteJWKSet
  readonly #failedRefetchMs: number
  #generation = 0
  #lastBody: string | undefined
  #failedAtMs = Number.NEGATIVE_INFINITY

  constructor(uri: string, options: RemoteKeySourceOptions) {
    this.uri = uri
    this.#failedRefetchMs = options.failedRefetchMs
    const fetchKeys: JwksFetch = async (url, init) => {
      const response = await options.fetch(url, init)
      if (response.status !== 200) return response
      const body = await response.text()
      if (body !== this.#lastBody) {
        this.#lastBody = body
        this.#generation++
      }
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })
    }
    this.#remote = createRemoteJWKSet(new URL(uri), {
      cacheMaxAge: options.cacheMaxAgeMs,
      cooldownDuration: options.cooldownMs,
      timeoutDuration: options.timeoutMs,
      [customFetch]: fetchKeys,
    })
  }

  get generation(): number {
    return this.#generation
  }

  fresh(): boolean {
    return this.#remote.fresh
  }

  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    if (!this.#remote.fresh && Date.now() < this.#failedAtMs + this.#failedRefetchMs) {
      throw new JwksUnavailableError(this.uri)
    }
    try {
      return await this.#remote(header, token)
    } catch (error) {
      if (isKeyMismatch(error)) throw error
      this.#failedAtMs = Date.now()
      throw new JwksUnavailableError(this.uri, { cause: error })
    }
  }
}
