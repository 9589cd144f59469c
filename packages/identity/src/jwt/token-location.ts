/** Request headers as Node's `headersDistinct` gives them: lower-case names, repeats as lists. */
export type JwtRequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>

/** Where a jwtRule reads a token: Istio's `fromHeaders`, `fromParams`, `fromCookies`. */
export type TokenLocation =
  | { readonly kind: 'header'; readonly name: string; readonly prefix: string; readonly key: string }
  | { readonly kind: 'param'; readonly name: string; readonly key: string }
  | { readonly kind: 'cookie'; readonly name: string; readonly key: string }

/** A token found at a location, with what the authenticator needs to strip it afterwards. */
export interface FoundToken {
  readonly token: string
  readonly location: TokenLocation
}

export function headerLocation(name: string, prefix = ''): TokenLocation {
  const lower = name.toLowerCase()
  return { kind: 'header', name: lower, prefix, key: `header:${lower}:${prefix}` }
}

export function paramLocation(name: string): TokenLocation {
  return { kind: 'param', name, key: `param:${name}` }
}

export function cookieLocation(name: string): TokenLocation {
  return { kind: 'cookie', name, key: `cookie:${name}` }
}

/**
 * Envoy's default when a rule names no location: `Authorization: Bearer <token>` and the
 * `access_token` query parameter.
 */
export const DEFAULT_LOCATIONS: readonly TokenLocation[] = Object.freeze([
  headerLocation('authorization', 'Bearer '),
  paramLocation('access_token'),
])

/** The token in one header value, or undefined when the value does not start with the prefix. */
function fromHeaderValue(value: string, prefix: string): string | undefined {
  let start = 0
  if (prefix !== '') {
    // RFC 7235 auth schemes are case-blind; Envoy compares the prefix ignoring case too.
    if (
      value.length < prefix.length ||
      value.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()
    ) {
      return undefined
    }
    start = prefix.length
  }
  while (value.charCodeAt(start) === 0x20) start++
  let end = start
  // A token is base64url parts and dots; it ends at the first separator, as Envoy cuts it.
  while (end < value.length) {
    const c = value.charCodeAt(end)
    if (c === 0x20 || c === 0x2c || c === 0x3b || c === 0x09) break
    end++
  }
  return end > start ? value.slice(start, end) : undefined
}

function pushHeader(out: FoundToken[], location: TokenLocation & { kind: 'header' }, value: string): void {
  const token = fromHeaderValue(value, location.prefix)
  if (token !== undefined) out.push({ token, location })
}

/**
 * Every token at `locations`, in their order; a repeated header yields one token per value.
 * `query` is the raw query (`''` or starting with `?`).
 */
export function extractTokens(
  locations: readonly TokenLocation[],
  headers: JwtRequestHeaders,
  query: string,
): readonly FoundToken[] {
  let out: FoundToken[] | undefined
  let params: URLSearchParams | undefined
  let cookies: Map<string, string> | undefined
  for (const location of locations) {
    if (location.kind === 'header') {
      const value = headers[location.name]
      if (value === undefined) continue
      out ??= []
      if (typeof value === 'string') pushHeader(out, location, value)
      else for (const v of value) pushHeader(out, location, v)
    } else if (location.kind === 'param') {
      if (query.length < 2 || !query.includes(location.name)) continue
      params ??= new URLSearchParams(query.slice(1))
      for (const token of params.getAll(location.name)) {
        if (token === '') continue
        out ??= []
        out.push({ token, location })
      }
    } else {
      const header = headers.cookie
      if (header === undefined) continue
      cookies ??= parseCookies(typeof header === 'string' ? [header] : header)
      const token = cookies.get(location.name)
      if (token === undefined || token === '') continue
      out ??= []
      out.push({ token, location })
    }
  }
  return out ?? NO_TOKENS
}

const NO_TOKENS: readonly FoundToken[] = Object.freeze([])

function parseCookies(values: readonly string[]): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const value of values) {
    for (const pair of value.split(';')) {
      const eq = pair.indexOf('=')
      if (eq < 0) continue
      const name = pair.slice(0, eq).trim()
      let token = pair.slice(eq + 1).trim()
      if (token.length >= 2 && token.startsWith('"') && token.endsWith('"')) token = token.slice(1, -1)
      if (!cookies.has(name)) cookies.set(name, token)
    }
  }
  return cookies
}
