import { generateP256KeyPair, P256, privateKeyToPem } from '../pki/keys.js'
import { x509 } from '../pki/x509.js'

/** A fresh workload key and the PKCS#10 request that proves possession of it. */
export interface KeyAndRequest {
  readonly keyPem: string
  readonly csrPem: string
}

/**
 * Makes a new ECDSA P-256 key and a certificate signing request for it. The request names no
 * identity: the CA writes the SPIFFE ID from the caller's authenticated credential, never from the
 * request, so asking for one would only mislead a reader.
 */
export async function createKeyAndRequest(): Promise<KeyAndRequest> {
  const keys = await generateP256KeyPair()
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: P256 })
  return { keyPem: await privateKeyToPem(keys.privateKey), csrPem: csr.toString('pem') }
}
