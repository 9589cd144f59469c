import type { Socket } from 'node:net'
import type { PeerCertificate, TLSSocket } from 'node:tls'

const SPIFFE = 'spiffe://'

/**
 * The SPIFFE ID (without `spiffe://`) a client certificate carries, as Istio reads a peer
 * principal: only from a certificate the TLS handshake verified, and only when it has exactly
 * one URI SAN and that is a `spiffe://` URI. Anything else, plaintext included, has none.
 */
export function peerPrincipal(socket: Socket | undefined): string | undefined {
  const tls = socket as TLSSocket | undefined
  if (tls?.encrypted !== true || tls.authorized !== true) return undefined
  return principalOf(tls.getPeerCertificate())
}

/** The principal of an already verified peer certificate (gRPC hands over the certificate). */
export function principalOf(certificate: PeerCertificate | undefined): string | undefined {
  const san = certificate?.subjectaltname
  if (!san) return undefined
  let found: string | undefined
  for (const entry of san.split(', ')) {
    if (!entry.startsWith('URI:')) continue
    if (found !== undefined) return undefined
    found = entry.slice(4)
  }
  if (found === undefined || !found.startsWith(SPIFFE) || found.length === SPIFFE.length) return undefined
  return found.slice(SPIFFE.length)
}

/** SNI of a TLS socket, if the client sent one. */
export function serverName(socket: Socket | undefined): string | undefined {
  const name = (socket as TLSSocket | undefined)?.servername
  return typeof name === 'string' && name !== '' ? name : undefined
}
