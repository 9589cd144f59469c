import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { principalOf } from '@weft/identity'

/**
 * The SPIFFE ID (without `spiffe://`) a client certificate carries, as Istio reads a peer
 * principal: only from a certificate the TLS handshake verified, and only when it has exactly
 * one URI SAN and that is a `spiffe://` URI (read from the certificate's DER by
 * `@weft/identity`, not from Node's `subjectaltname` text, where a crafted SAN could smuggle in
 * a second `URI:` entry). Anything else, plaintext included, has none.
 */
export function peerPrincipal(socket: Socket | undefined): string | undefined {
  const tls = socket as TLSSocket | undefined
  if (tls?.encrypted !== true || tls.authorized !== true) return undefined
  // A connection's peer certificate does not change, and reading it costs tens of microseconds:
  // once per connection, not once per request.
  if (principals.has(tls)) return principals.get(tls)
  const principal = principalOf(tls.getPeerCertificate())
  principals.set(tls, principal)
  return principal
}

const principals = new WeakMap<TLSSocket, string | undefined>()

/** SNI of a TLS socket, if the client sent one. */
export function serverName(socket: Socket | undefined): string | undefined {
  const name = (socket as TLSSocket | undefined)?.servername
  return typeof name === 'string' && name !== '' ? name : undefined
}
