import { parseDurationMs } from '@weft/config'
import { type Dispatcher, request } from 'undici'
import { ExtAuthzError } from './errors.js'
import type { InboundHeaders } from './inbound-request.js'
import { patternTest } from './rate-limit/rate-limit-match.js'

/** Istio's `meshConfig.extensionProviders[].envoyExtAuthzHttp`. */
export interface EnvoyExtAuthzHttpProvider {
  /** Host of the authorizer, as the workload can reach it (a name it resolves, or an address). */
  readonly service: string
  readonly port: number
  /** Default 600s, Istio's. */
  readonly timeout?: string
  /** Prepended to the request's path in the check request. */
  readonly pathPrefix?: string
  /** Allow the request when the authorizer cannot be reached. Default false: deny. */
  readonly failOpen?: boolean
  /** Status sent when the authorizer cannot be reached (and `failOpen` is off). Default 403. */
  readonly statusOnError?: string
  /** Request headers sent to the authorizer, beside Host and Authorization (exact, `prefix*`, `*suffix`). */
  readonly includeRequestHeadersInCheck?: readonly string[]
  /** Headers added to the check request, whatever the request carried. */
  readonly includeAdditionalHeadersInCheck?: Readonly<Record<string, string>>
  /** Authorizer response headers copied into the request the application sees, on allow. */
  readonly headersToUpstreamOnAllow?: readonly string[]
  /** Authorizer response headers sent to the client on deny; unset: all of them, as Envoy. */
  readonly headersToDownstreamOnDeny?: readonly string[]
  /** Authorizer response headers added to the application's response, on allow. */
  readonly headersToDownstreamOnAllow?: readonly string[]
}

/** One entry of Istio's `meshConfig.extensionProviders`; Weft asks only `envoyExtAuthzHttp` ones. */
export interface ExtensionProvider {
  readonly name: string
  readonly envoyExtAuthzHttp?: EnvoyExtAuthzHttpProvider
}

/** What the authorizer is shown of a request. */
export interface ExtAuthzRequest {
  readonly method: string
  /** Normalised path with the query, as forwarded. */
  readonly url: string
  readonly host: string | undefined
  readonly headers: InboundHeaders
}

export type ExtAuthzResult =
  | {
      readonly allowed: true
      readonly upstreamHeaders: Readonly<Record<string, string>>
      readonly downstreamHeaders: Readonly<Record<string, string>>
    }
  | {
      readonly allowed: false
      readonly status: number
      readonly body: string
      readonly headers: Readonly<Record<string, string>>
      /** `denied` when the authorizer said no; `error` when it could not be asked. */
      readonly reason: 'denied' | 'error'
      readonly error?: ExtAuthzError
    }

const DEFAULT_TIMEOUT_MS = 600_000
const MAX_BODY_BYTES = 64 * 1024
const EMPTY: Readonly<Record<string, string>> = Object.freeze({})
/** Headers that describe the authorizer's own message, never passed on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'host',
  'date',
  'upgrade',
  'proxy-connection',
])

type HeaderTest = (name: string) => boolean

function headerTest(patterns: readonly string[] | undefined): HeaderTest | undefined {
  if (!patterns) return undefined
  const tests = patterns.map((p) => patternTest(p.toLowerCase()))
  return (name) => tests.some((test) => test(name))
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value
}

/**
 * An HTTP external authorizer, asked as Envoy's ext_authz HTTP service is: the original method
 * and path (behind `pathPrefix`), no body, Host, Authorization and the allowed headers. 200
 * allows; any other status denies with the authorizer's status, body and headers; a failure or
 * timeout denies with `statusOnError` unless `failOpen`.
 */
export class ExtAuthzClient {
  readonly name: string
  readonly #origin: string
  readonly #pathPrefix: string
  readonly #timeoutMs: number
  readonly #failOpen: boolean
  readonly #statusOnError: number
  readonly #include: HeaderTest | undefined
  readonly #additional: Readonly<Record<string, string>>
  readonly #toUpstream: HeaderTest | undefined
  readonly #toDownstreamOnDeny: HeaderTest | undefined
  readonly #toDownstreamOnAllow: HeaderTest | undefined
  readonly #dispatcher: Dispatcher

  constructor(name: string, provider: EnvoyExtAuthzHttpProvider, dispatcher: Dispatcher) {
    this.name = name
    const host = provider.service.includes(':') ? `[${provider.service}]` : provider.service
    this.#origin = `http://${host}:${provider.port}`
    this.#pathPrefix = provider.pathPrefix ?? ''
    const timeout = provider.timeout ? parseDurationMs(provider.timeout) : undefined
    this.#timeoutMs = timeout !== undefined && timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS
    this.#failOpen = provider.failOpen === true
    const onError = provider.statusOnError ? Number(provider.statusOnError) : 403
    this.#statusOnError = Number.isInteger(onError) && onError >= 200 && onError <= 599 ? onError : 403
    this.#include = headerTest(provider.includeRequestHeadersInCheck)
    this.#additional = { ...(provider.includeAdditionalHeadersInCheck ?? {}) }
    this.#toUpstream = headerTest(provider.headersToUpstreamOnAllow)
    this.#toDownstreamOnDeny = headerTest(provider.headersToDownstreamOnDeny)
    this.#toDownstreamOnAllow = headerTest(provider.headersToDownstreamOnAllow)
    this.#dispatcher = dispatcher
  }

  async check(req: ExtAuthzRequest): Promise<ExtAuthzResult> {
    const headers: Record<string, string> = {}
    for (const name of Object.keys(req.headers)) {
      if (name === 'authorization' || this.#include?.(name)) {
        const value = req.headers[name]
        if (value !== undefined) headers[name] = typeof value === 'string' ? value : value.join(',')
      }
    }
    Object.assign(headers, this.#additional)
    if (req.host !== undefined) headers.host = req.host
    try {
      const res = await request(`${this.#origin}${this.#pathPrefix}${req.url}`, {
        method: req.method as Dispatcher.HttpMethod,
        headers,
        dispatcher: this.#dispatcher,
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
      if (res.statusCode === 200) {
        await res.body.dump()
        return {
          allowed: true,
          upstreamHeaders: pick(res.headers, this.#toUpstream, false),
          downstreamHeaders: pick(res.headers, this.#toDownstreamOnAllow, false),
        }
      }
      const body = await readBounded(res.body)
      return {
        allowed: false,
        status: res.statusCode,
        body,
        headers: pick(res.headers, this.#toDownstreamOnDeny, true),
        reason: 'denied',
      }
    } catch (cause) {
      const error = new ExtAuthzError(this.name, 'the authorizer could not be asked', { cause })
      if (this.#failOpen) return { allowed: true, upstreamHeaders: EMPTY, downstreamHeaders: EMPTY }
      return { allowed: false, status: this.#statusOnError, body: '', headers: EMPTY, reason: 'error', error }
    }
  }
}

/** The response headers a list lets through; no list lets all through when `allByDefault`. */
function pick(
  headers: Record<string, string | string[] | undefined>,
  test: HeaderTest | undefined,
  allByDefault: boolean,
): Readonly<Record<string, string>> {
  if (!test && !allByDefault) return EMPTY
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (HOP_BY_HOP.has(name)) continue
    if (test && !test(name)) continue
    const text = firstValue(value)
    if (text !== undefined) out[name] = text
  }
  return out
}

async function readBounded(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) {
      body.destroy()
      break
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** A CUSTOM policy names a provider the mesh config lacks: Istio denies, and so does Weft. */
export function missingProvider(name: string): ExtAuthzResult {
  return {
    allowed: false,
    status: 403,
    body: 'RBAC: access denied',
    headers: EMPTY,
    reason: 'error',
    error: new ExtAuthzError(name, 'no such envoyExtAuthzHttp provider in meshConfig.extensionProviders'),
  }
}
