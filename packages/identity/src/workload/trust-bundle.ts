import { X509Certificate as NodeCertificate } from 'node:crypto'
import { TrustBundleInvalidError } from '../errors.js'
import { joinPem, splitCertificates } from '../pki/pem.js'

/** Checks that a trust bundle is one or more CA certificates, and returns it normalised. */
export function trustBundleOf(pem: string, where: string): string {
  const blocks = splitCertificates(pem)
  if (blocks.length === 0) throw new TrustBundleInvalidError(where, 'it holds no PEM certificate')
  for (const [i, block] of blocks.entries()) {
    let cert: NodeCertificate
    try {
      cert = new NodeCertificate(block)
    } catch (cause) {
      throw new TrustBundleInvalidError(where, `certificate ${i + 1} does not parse`, { cause })
    }
    if (!cert.ca)
      throw new TrustBundleInvalidError(where, `certificate ${i + 1} (${cert.subject}) is not a CA`)
  }
  return joinPem(blocks)
}
