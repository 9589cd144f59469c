import { createPrivateKey, webcrypto } from 'node:crypto'
import { x509 } from './x509.js'

type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair

/** ECDSA over P-256 with SHA-256: the only key type Weft issues SVIDs for. */
export const P256 = Object.freeze({ name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' })

/** A key able to sign certificates, with the algorithm to sign with. */
export interface SigningKey {
  readonly privateKey: CryptoKey
  readonly algorithm: { name: string; hash: string; namedCurve?: string }
}

/** A new P-256 key pair whose private half can be exported (it goes into PEM for TLS). */
export async function generateP256KeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as CryptoKeyPair
}

/** A private key as unencrypted PKCS#8 PEM, the form Node's TLS and Istio's cacerts read. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key)
  return x509.PemConverter.encode(der, 'PRIVATE KEY')
}

const CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
}

/**
 * Imports a CA's private key from PEM in any form OpenSSL writes (PKCS#8, SEC1 `EC PRIVATE KEY`,
 * PKCS#1 `RSA PRIVATE KEY`): operators plug in keys made by Istio's tooling, which are RSA.
 * Throws (from Node) when the PEM is not a private key.
 */
export async function importSigningKey(pem: string): Promise<SigningKey> {
  const key = createPrivateKey(pem)
  const der = key.export({ format: 'der', type: 'pkcs8' })
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? '']
    if (!curve) throw new TypeError(`unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve}`)
    const algorithm = { name: 'ECDSA', namedCurve: curve.namedCurve, hash: curve.hash }
    const privateKey = await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign'])
    return { privateKey, algorithm }
  }
  if (key.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    const privateKey = await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign'])
    return { privateKey, algorithm }
  }
  throw new TypeError(`unsupported key type ${key.asymmetricKeyType}; use an EC or RSA key`)
}
