import { createPrivateKey, X509Certificate as NodeCertificate } from 'node:crypto'
import { SvidInvalidError } from '../errors.js'
import { joinPem, splitCertificates } from '../pki/pem.js'
import { parseSpiffeId, type SpiffeId } from '../spiffe/spiffe-id.js'
import { certificateFacts } from '../verify/certificate-facts.js'

/** This workload's own X.509-SVID: its certificate chain and key. */
export interface Svid {
  readonly spiffeId: SpiffeId
  /** The leaf first, then any intermediates. */
  readonly certChainPem: string
  readonly keyPem: string
  /** The leaf's serial number, upper-case hex as Node's `X509Certificate` writes it. */
  readonly serialNumber: string
  readonly notBeforeMs: number
  readonly notAfterMs: number
}

/**
 * Checks a certificate chain and key as this workload's SVID: the leaf is for this key, carries
 * one SPIFFE ID and has not expired. Throws `SvidInvalidError` naming `where` it came from.
 */
export function svidOf(certChainPem: string, keyPem: string, where: string, nowMs: number): Svid {
  const blocks = splitCertificates(certChainPem)
  if (blocks.length === 0) throw new SvidInvalidError(where, 'it holds no PEM certificate')
  let leaf: NodeCertificate
  try {
    leaf = new NodeCertificate(blocks[0]!)
  } catch (cause) {
    throw new SvidInvalidError(where, 'its first certificate does not parse', { cause })
  }
  let matches: boolean
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem))
  } catch (cause) {
    throw new SvidInvalidError(where, 'its key is not a PEM private key', { cause })
  }
  if (!matches) throw new SvidInvalidError(where, 'the certificate is not for this key')
  const parsed = certificateFacts(leaf)
  if (!parsed.ok || parsed.facts.uris.length !== 1) {
    throw new SvidInvalidError(where, 'the certificate does not carry exactly one URI SAN')
  }
  let spiffeId: SpiffeId
  try {
    spiffeId = parseSpiffeId(parsed.facts.uris[0]!)
  } catch (cause) {
    throw new SvidInvalidError(where, 'its URI SAN is not a SPIFFE ID', { cause })
  }
  if (parsed.facts.notAfterMs <= nowMs) {
    throw new SvidInvalidError(where, `it expired at ${new Date(parsed.facts.notAfterMs).toISOString()}`)
  }
  return Object.freeze({
    spiffeId,
    certChainPem: joinPem(blocks),
    keyPem,
    serialNumber: leaf.serialNumber,
    notBeforeMs: parsed.facts.notBeforeMs,
    notAfterMs: parsed.facts.notAfterMs,
  })
}
