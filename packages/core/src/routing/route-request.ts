/** The caller, as routing sees it: `sourceLabels` and `sourceNamespace` match against it. */
export interface RouteSource {
  readonly namespace: string
  readonly labels: Readonly<Record<string, string>>
  /** `region/zone/subzone`, when known: locality load balancing prefers endpoints near it. */
  readonly locality?: string
}

/**
 * One outgoing request, as an adapter describes it to the router. Headers are read through a
 * function so that each adapter (undici, gRPC) can answer from its own header shape without
 * copying it.
 */
export interface RouteRequest {
  readonly method: string
  /** `http` or `https`. */
  readonly scheme: string
  /** `host` or `host:port`, as the caller addressed it. */
  readonly authority: string
  /** Path and query, as the caller wrote them. */
  readonly path: string
  /** A header's value by lower-cased name; several values joined with `,`, as Envoy reads them. */
  header(name: string): string | undefined
  readonly source: RouteSource
}

/** `reviews:9080` → `['reviews', 9080]`; the scheme's port when none is written; IPv6 in brackets. */
export function splitAuthority(authority: string, scheme: string): [host: string, port: number] {
  const defaultPort = scheme === 'https' ? 443 : 80
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']')
    const port = authority.slice(close + 2)
    return [authority.slice(1, close), port ? Number(port) : defaultPort]
  }
  const colon = authority.lastIndexOf(':')
  if (colon < 0) return [authority, defaultPort]
  const port = Number(authority.slice(colon + 1))
  return Number.isInteger(port) && port > 0 ? [authority.slice(0, colon), port] : [authority, defaultPort]
}
