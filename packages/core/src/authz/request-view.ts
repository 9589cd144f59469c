import { WeftCoreError } from '../errors.js'
import type { AuthorizationRequest } from './authorization-request.js'
import { type IpVersion, parsePeerIp } from './ip-address.js'
import { asciiLowerCase } from './string-pattern.js'

/** An attribute of the request has a type no adapter should produce; the decision denies. */
export class InvalidAuthorizationRequestError extends WeftCoreError {
  override name = 'InvalidAuthorizationRequestError'
  override readonly code = 'WEFT_CORE_INVALID_AUTHORIZATION_REQUEST'
  readonly attribute: string

  constructor(attribute: string, expected: string) {
    super(`${attribute} must be ${expected}`)
    this.attribute = attribute
  }
}

export const SOURCE_IP = 0
export const REMOTE_IP = 1
export const DESTINATION_IP = 2
export type IpAttribute = typeof SOURCE_IP | typeof REMOTE_IP | typeof DESTINATION_IP

const NOT_PARSED = -1

/**
 * One request as the matchers read it, with what several matchers need computed at most once
 * per decision (the lower-cased host, parsed addresses). One view is reused by every decision
 * of an authorizer: decisions are synchronous, so none overlaps another.
 */
export class RequestView {
  #request: AuthorizationRequest | undefined
  #host: string | undefined
  #hostReady = false
  readonly #ipVersions = new Int8Array(3)
  readonly #ipWords = [new Uint32Array(4), new Uint32Array(4), new Uint32Array(4)] as const

  reset(request: AuthorizationRequest): void {
    this.#request = request
    this.#hostReady = false
    this.#ipVersions.fill(NOT_PARSED)
  }

  /** Drops the request, so that an idle authorizer holds no caller's headers or claims. */
  release(): void {
    this.#request = undefined
  }

  get request(): AuthorizationRequest {
    return this.#request as AuthorizationRequest
  }

  /** Istio's `hosts` ignore ASCII case; patterns are lower-cased once, the host once per request. */
  hostLowerCase(): string | undefined {
    if (!this.#hostReady) {
      const host = this.request.host
      this.#host = host === undefined ? undefined : asciiLowerCase(host)
      this.#hostReady = true
    }
    return this.#host
  }

  /**
   * A header by lower-case name, as Envoy's header matchers read it. Envoy keeps the method,
   * path and host as pseudo-headers, and its header map answers `host` with `:authority`
   * (HeaderMapImpl's static lookup table maps the legacy name).
   */
  header(name: string): string | undefined {
    const request = this.request
    if (name === ':authority' || name === 'host') return request.host
    if (name === ':method') return request.method
    if (name === ':path') return request.query ? request.path + request.query : request.path
    if (!Object.hasOwn(request.headers, name)) return undefined
    const value = request.headers[name]
    if (value === undefined || typeof value === 'string') return value
    if (Array.isArray(value)) return value.join(',')
    throw new InvalidAuthorizationRequestError(`headers[${name}]`, 'a string or a list of strings')
  }

  /** The address's family after parsing it on first use; 0 if absent or not an IP address. */
  ipVersion(attribute: IpAttribute): IpVersion {
    let version = this.#ipVersions[attribute] as number
    if (version === NOT_PARSED) {
      const request = this.request
      const text =
        attribute === SOURCE_IP
          ? request.source.ip
          : attribute === REMOTE_IP
            ? (request.source.remoteIp ?? request.source.ip)
            : request.destination.ip
      version = text === undefined ? 0 : parsePeerIp(text, this.#ipWords[attribute])
      this.#ipVersions[attribute] = version
    }
    return version as IpVersion
  }

  /** The words `ipVersion` parsed the address into. */
  ipWords(attribute: IpAttribute): Uint32Array {
    return this.#ipWords[attribute]
  }

  /**
   * A JWT claim by path (`[groups]`, `[realm][roles]`), walking only the payload's own
   * properties: `[constructor][name]` must not reach `Object`'s.
   */
  claim(path: readonly string[]): unknown {
    const auth = this.request.auth
    if (auth === undefined) return undefined
    let value: unknown = auth.claims
    if (typeof value !== 'object' || value === null) {
      throw new InvalidAuthorizationRequestError('auth.claims', 'an object')
    }
    for (let i = 0; i < path.length; i++) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
      const key = path[i] as string
      if (!Object.hasOwn(value, key)) return undefined
      value = (value as Record<string, unknown>)[key]
    }
    return value
  }
}
