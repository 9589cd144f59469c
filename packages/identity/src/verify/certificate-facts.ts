import type { X509Certificate as NodeCertificate } from 'node:crypto'
import { x509 } from '../pki/x509.js'

/** What peer verification reads from a certificate, parsed once per distinct certificate. */
export interface CertificateFacts {
  /** Every URI SAN, in order. */
  readonly uris: readonly string[]
  readonly ca: boolean
  /** The key usage bits (`x509.KeyUsageFlags`), undefined without the extension. */
  readonly keyUsage: number | undefined
  readonly notBeforeMs: number
  readonly notAfterMs: number
}

export type FactsResult = { readonly ok: true; readonly facts: CertificateFacts } | { readonly ok: false }

// A workload meets the same few peer certificates over and over (one per peer and rotation), so
// the ASN.1 parse is paid once each; the bound keeps a scan by many distinct peers from growing it.
const CACHE_LIMIT = 1024
const cache = new Map<string, FactsResult>()

function parse(der: Buffer): FactsResult {
  try {
    const cert = new x509.X509Certificate(der)
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension)
    const constraints = cert.getExtension(x509.BasicConstraintsExtension)
    const usage = cert.getExtension(x509.KeyUsagesExtension)
    return {
      ok: true,
      facts: Object.freeze({
        uris: Object.freeze(san?.names.items.filter((n) => n.type === 'url').map((n) => n.value) ?? []),
        ca: constraints?.ca ?? false,
        keyUsage: usage?.usages,
        notBeforeMs: cert.notBefore.getTime(),
        notAfterMs: cert.notAfter.getTime(),
      }),
    }
  } catch {
    // A SAN form the parser does not know (an X.400 address…) cannot be an SVID's anyway.
    return { ok: false }
  }
}

/** The facts of a certificate given as Node's `X509Certificate`, or as DER with its SHA-256 fingerprint. */
export function certificateFacts(
  cert: NodeCertificate | { raw: Buffer; fingerprint256: string },
): FactsResult {
  const key = cert.fingerprint256
  const hit = cache.get(key)
  if (hit) return hit
  const result = parse(cert.raw)
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!)
  cache.set(key, result)
  return result
}
