import type { X509Certificate as NodeCertificate } from 'node:crypto'
import type { PeerCertificate } from 'node:tls'
import { x509 } from '../pki/x509.js'
import { isSpiffeId, parseSpiffeId, principalOfId, type SpiffeId } from '../spiffe/spiffe-id.js'
import { certificateFacts } from './certificate-facts.js'

/** Why a peer's certificate is not an acceptable SVID. */
export type PeerRefusalReason =
  | 'no-certificate'
  | 'unparsable'
  | 'no-uri-san'
  | 'several-uri-sans'
  | 'not-spiffe'
  | 'foreign-trust-domain'
  | 'ca-certificate'
  | 'key-usage'
  | 'not-yet-valid'
  | 'expired'
  | 'unexpected-identity'

export type PeerVerdict =
  | { readonly ok: true; readonly id: SpiffeId; readonly principal: string }
  | { readonly ok: false; readonly reason: PeerRefusalReason; readonly detail: string }

export interface PeerCheckOptions {
  /** The mesh's trust domain and its aliases; a peer from any other is refused. */
  readonly trustDomains: ReadonlySet<string>
  /** If given and not empty, the peer's SPIFFE ID must be one of these (`spiffe://…`). */
  readonly expectedIds?: ReadonlySet<string>
  /** Milliseconds since the epoch. Default `Date.now()`. */
  readonly nowMs?: number
}

/** A certificate as Node hands it over: `X509Certificate`, or `getPeerCertificate()`'s object. */
export type PeerCertificateInput = NodeCertificate | Pick<PeerCertificate, 'raw' | 'fingerprint256'>

const refuse = (reason: PeerRefusalReason, detail: string): PeerVerdict => ({ ok: false, reason, detail })

/**
 * Checks a TLS peer's leaf certificate against the SPIFFE X.509-SVID rules: exactly one URI SAN,
 * a well-formed SPIFFE ID in one of the mesh's trust domains, not a CA, a key usage extension that
 * allows digitalSignature and no certificate or CRL signing, within its validity. It does not check the
 * chain: the TLS handshake did that against the trust bundle (`ca`, with `rejectUnauthorized`).
 */
export function checkPeerSvid(
  cert: PeerCertificateInput | undefined,
  options: PeerCheckOptions,
): PeerVerdict {
  if (!cert?.raw?.length) return refuse('no-certificate', 'the peer presented no certificate')
  const parsed = certificateFacts(cert)
  if (!parsed.ok) return refuse('unparsable', 'the certificate has a subjectAltName this mesh cannot read')
  const facts = parsed.facts
  if (facts.uris.length === 0) return refuse('no-uri-san', 'the certificate has no URI SAN, so no SPIFFE ID')
  if (facts.uris.length > 1) {
    return refuse('several-uri-sans', `an SVID has exactly one URI SAN; this one has ${facts.uris.length}`)
  }
  const uri = facts.uris[0]!
  if (!isSpiffeId(uri)) return refuse('not-spiffe', `${uri} is not a SPIFFE ID`)
  const id = parseSpiffeId(uri)
  if (id.path === '') return refuse('not-spiffe', `${uri} names a trust domain, not a workload`)
  if (!options.trustDomains.has(id.trustDomain)) {
    return refuse(
      'foreign-trust-domain',
      `${uri} is in trust domain ${id.trustDomain}, not ${[...options.trustDomains].join(' or ')}`,
    )
  }
  if (facts.ca) return refuse('ca-certificate', 'the certificate is a CA certificate, not a workload leaf')
  // The X.509-SVID specification requires digitalSignature on a leaf, so a certificate without
  // the extension (which would allow every use) is refused too.
  const signsCertificates = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
  const usage = facts.keyUsage ?? 0
  if ((usage & x509.KeyUsageFlags.digitalSignature) === 0 || (usage & signsCertificates) !== 0) {
    return refuse('key-usage', 'an SVID must allow digitalSignature and must not sign certificates or CRLs')
  }
  const now = options.nowMs ?? Date.now()
  if (now < facts.notBeforeMs) {
    return refuse('not-yet-valid', `valid from ${new Date(facts.notBeforeMs).toISOString()}`)
  }
  if (now >= facts.notAfterMs)
    return refuse('expired', `expired at ${new Date(facts.notAfterMs).toISOString()}`)
  if (options.expectedIds?.size && !options.expectedIds.has(uri)) {
    return refuse('unexpected-identity', `${uri} is none of ${[...options.expectedIds].join(', ')}`)
  }
  return { ok: true, id, principal: principalOfId(id) }
}

/**
 * Istio's `source.principal` of a peer certificate (`cluster.local/ns/NS/sa/SA`): its one URI SAN
 * without `spiffe://`, or undefined if it has no single SPIFFE ID. It trusts the certificate as
 * given: read it only from a socket whose handshake verified it (`socket.authorized`).
 */
export function principalOf(cert: PeerCertificateInput | undefined): string | undefined {
  if (!cert?.raw?.length) return undefined
  const parsed = certificateFacts(cert)
  if (!parsed.ok || parsed.facts.uris.length !== 1) return undefined
  const uri = parsed.facts.uris[0]!
  if (!isSpiffeId(uri)) return undefined
  const id = parseSpiffeId(uri)
  return id.path === '' ? undefined : principalOfId(id)
}
