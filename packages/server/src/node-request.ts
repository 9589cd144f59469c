import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { InboundRequest } from './inbound-request.js'
import type { InboundAllow, InboundDeny } from './inbound-verdict.js'
import { peerPrincipal, serverName } from './peer-identity.js'

/** What the application may read of the pipeline's verdict: `req.weft` (Express) and `request.weft` (Fastify). */
export interface InboundIdentity {
  /** The peer's SPIFFE ID without `spiffe://` (mTLS); undefined for a plaintext peer. */
  readonly principal: string | undefined
  /** `iss/sub` of a verified JWT. */
  readonly requestPrincipal: string | undefined
  /** The verified JWT's claims. */
  readonly claims: Readonly<Record<string, unknown>> | undefined
}

export function identityOf(verdict: InboundAllow): InboundIdentity {
  return { principal: verdict.principal, requestPrincipal: verdict.requestPrincipal, claims: verdict.claims }
}

/** A Node HTTP request, as the pipeline reads it. `target` is the request target as received. */
export function inboundFromNode(req: IncomingMessage, target: string): InboundRequest {
  const socket = req.socket
  const encrypted = (socket as TLSSocket).encrypted === true
  return {
    method: req.method ?? 'GET',
    target,
    host: req.headers.host,
    headers: req.headersDistinct,
    principal: encrypted ? peerPrincipal(socket) : undefined,
    remoteIp: socket.remoteAddress,
    localIp: socket.localAddress,
    localPort: socket.localPort ?? 0,
    sni: encrypted ? serverName(socket) : undefined,
    scheme: encrypted ? 'https' : 'http',
    protocol: 'http',
  }
}

/**
 * Makes the request what Envoy would forward: the normalised path, the token and spoofed output
 * headers gone, the policy's headers set — in `headers`, `headersDistinct` and `rawHeaders`
 * alike, so that no reader of the request sees the old values.
 */
export function applyAllow(req: IncomingMessage, verdict: InboundAllow): void {
  if (req.url !== verdict.url) req.url = verdict.url
  const remove = verdict.removeHeaders
  const set = verdict.setHeaders
  const names = Object.keys(set)
  if (remove.length === 0 && names.length === 0) return
  const headers = req.headers as Record<string, string | string[] | undefined>
  const distinct = req.headersDistinct as Record<string, string[] | undefined>
  for (const name of remove) {
    delete headers[name]
    delete distinct[name]
  }
  for (const name of names) {
    delete headers[name]
    delete distinct[name]
  }
  const raw: string[] = []
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string
    if (!dropped(name.toLowerCase(), remove, set)) raw.push(name, req.rawHeaders[i + 1] as string)
  }
  for (const name of names) {
    const value = set[name] as string
    headers[name] = value
    distinct[name] = [value]
    raw.push(name, value)
  }
  req.rawHeaders = raw
}

/** Whether `applyAllow` takes a header out of the request: removed, or set anew. No Set per request. */
function dropped(name: string, remove: readonly string[], set: Readonly<Record<string, string>>): boolean {
  return remove.includes(name) || Object.hasOwn(set, name)
}

/** Answers a denied request, as Envoy's local replies do: the status, headers and a text body. */
export function writeDeny(res: ServerResponse, verdict: InboundDeny): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = Buffer.from(verdict.body)
  res.statusCode = verdict.status
  for (const [name, value] of Object.entries(verdict.headers)) res.setHeader(name, value)
  if (!res.hasHeader('content-type') && body.length > 0) res.setHeader('content-type', 'text/plain')
  res.setHeader('content-length', body.length)
  res.end(body)
}
