// Certificates for identity tests: a mesh CA in a temporary directory, workloads it issues, and
// certificates no CA of the mesh would issue (two URI SANs, a CA as a leaf, a foreign root),
// minted with @peculiar/x509 directly. The test package does not depend on that library itself,
// so it is loaded from @weft/identity's own dependencies (one copy, the version Weft uses).

import { webcrypto } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CertificateAuthority,
  type CertificateAuthorityOptions,
  createKeyAndRequest,
  createWorkloadIdentity,
  FileCaStore,
  type WorkloadIdentity,
} from '@weft/identity'

const fromIdentity = createRequire(new URL('../../packages/identity/package.json', import.meta.url))
fromIdentity('reflect-metadata')
export const x509: typeof import('@peculiar/x509') = fromIdentity('@peculiar/x509')
x509.cryptoProvider.set(webcrypto as never)

const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }

export interface Pem {
  readonly certPem: string
  readonly keyPem: string
}

/** A temporary directory, removed by the returned function. */
export async function temporaryDirectory(
  prefix: string,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `weft-${prefix}-`))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

/** A mesh CA with a fresh self-signed root in `directory`. */
export function openCa(
  directory: string,
  options: Partial<CertificateAuthorityOptions> = {},
): Promise<CertificateAuthority> {
  return CertificateAuthority.open({ store: new FileCaStore(directory), ...options })
}

/** A workload certificate chain and key, issued by `ca` for `spiffe://<td>/ns/<namespace>/sa/<sa>`. */
export async function issue(
  ca: CertificateAuthority,
  namespace: string,
  serviceAccount: string,
  ttlMs?: number,
): Promise<Pem> {
  const { keyPem, csrPem } = await createKeyAndRequest()
  const certPem = await ca.sign(csrPem, { namespace, serviceAccount, ...(ttlMs ? { ttlMs } : {}) })
  return { certPem, keyPem }
}

/** A renewing workload identity backed by `ca`. */
export function workloadIdentity(
  ca: CertificateAuthority,
  serviceAccount: string,
  ttlMs?: number,
): Promise<WorkloadIdentity> {
  return createWorkloadIdentity({
    requestCertificate: (csrPem) =>
      ca.sign(csrPem, { namespace: 'default', serviceAccount, ...(ttlMs ? { ttlMs } : {}) }),
    trustBundle: ca.trustBundlePem,
    retryInitialDelayMs: 100,
  })
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY')
}

async function importKey(pem: string): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), P256, false, ['sign'])
}

export interface MintOptions {
  /** Signer; absent: self-signed. Its key must be P-256. */
  readonly issuer?: Pem
  readonly uris?: readonly string[]
  readonly ca?: boolean
  readonly notBefore?: Date
  readonly notAfter?: Date
  readonly keyUsage?: number
  readonly subject?: string
}

/** Any certificate at all, with a new P-256 key: what a broken or hostile issuer might produce. */
export async function mint(options: MintOptions = {}): Promise<Pem> {
  const keys = (await webcrypto.subtle.generateKey(P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair
  const now = Date.now()
  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true),
    new x509.KeyUsagesExtension(
      options.keyUsage ??
        (options.ca
          ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
          : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment),
      true,
    ),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ]
  if (options.uris?.length) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(options.uris.map((value) => ({ type: 'url', value }))),
    )
  }
  const notBefore = options.notBefore ?? new Date(now - 60_000)
  const notAfter = options.notAfter ?? new Date(now + 3_600_000)
  const subject = options.subject ?? 'CN=test'
  let cert: InstanceType<typeof x509.X509Certificate>
  if (options.issuer) {
    const issuer = new x509.X509Certificate(options.issuer.certPem)
    const aki = issuer.getExtension(x509.SubjectKeyIdentifierExtension)
    if (aki) extensions.push(new x509.AuthorityKeyIdentifierExtension(aki.keyId))
    cert = await x509.X509CertificateGenerator.create({
      subject,
      issuer: issuer.subjectName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: await importKey(options.issuer.keyPem),
      signingAlgorithm: P256,
      extensions,
    })
  } else {
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: subject,
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: P256,
      extensions,
    })
  }
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) }
}
