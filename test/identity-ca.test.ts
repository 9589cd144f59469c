// Issue #6: the mesh CA. What it signs (and what it ignores), what it refuses, Istio's plug-in
// cacerts, its files on disk, and a root rotation with overlap, checked with real handshakes.
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  CA_FILES,
  type CertificateAuthority,
  createKeyAndRequest,
  mtlsClientOptions,
  type WorkloadIdentity,
} from '@weft/identity'
import { createInboundListener, type InboundListener } from '@weft/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  issue,
  mint,
  openCa,
  type Pem,
  temporaryDirectory,
  workloadIdentity,
  x509,
} from './support/identity-certs.js'
import { get, presenting } from './support/identity-tls.js'

type Directory = Awaited<ReturnType<typeof temporaryDirectory>>
const directories: Directory[] = []
const closers: (() => unknown)[] = []
afterAll(async () => {
  for (const close of closers.reverse()) await close()
  for (const d of directories) await d.remove()
})
async function directory(name: string): Promise<string> {
  const d = await temporaryDirectory(name)
  directories.push(d)
  return d.path
}

async function csr(
  algorithm: Record<string, unknown>,
  extras: { name?: string; extensions?: unknown[] } = {},
) {
  const keys = (await webcrypto.subtle.generateKey(algorithm as never, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: algorithm as never,
    ...(extras.name ? { name: extras.name } : {}),
    ...(extras.extensions ? { extensions: extras.extensions as never } : {}),
  })
  return request.toString('pem')
}

/** A STRICT listener for `identity` that answers with the caller's principal. */
async function strictListener(identity: WorkloadIdentity): Promise<number> {
  const listener: InboundListener = createInboundListener(
    (req, res) => res.end(String(req.socket.getPeerCertificate?.().subjectaltname)),
    { mtlsMode: () => 'STRICT', identity },
  )
  closers.push(() => listener.close(100))
  return (await listener.listen(0, '127.0.0.1')).port
}

describe('CertificateAuthority.sign', () => {
  let ca: CertificateAuthority
  beforeAll(async () => {
    ca = await openCa(await directory('ca-sign'))
  })

  it('issues one URI SAN from the authenticated name and ignores what the request asks for', async () => {
    const request = await csr(
      { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
      {
        name: 'CN=admin',
        extensions: [
          new x509.SubjectAlternativeNameExtension([
            { type: 'url', value: 'spiffe://cluster.local/ns/kube-system/sa/admin' },
            { type: 'dns', value: 'evil.example' },
          ]),
          new x509.BasicConstraintsExtension(true, undefined, true),
        ],
      },
    )
    const before = Date.now()
    const chain = await ca.sign(request, {
      namespace: 'default',
      serviceAccount: 'reviews',
      ttlMs: 3_600_000,
    })
    const leaf = new X509Certificate(chain)
    expect(chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(1)
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/default/sa/reviews')
    expect(leaf.subject ?? '').toBe('')
    expect(leaf.ca).toBe(false)
    expect(leaf.checkIssued(new X509Certificate(ca.trustBundle[0]!))).toBe(true)
    const parsed = new x509.X509Certificate(chain)
    expect(parsed.getExtension(x509.KeyUsagesExtension)?.usages).toBe(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
    )
    expect(parsed.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ])
    expect(parsed.getExtension(x509.SubjectAlternativeNameExtension)?.critical).toBe(true)
    expect(leaf.serialNumber.length).toBeLessThanOrEqual(40)
    expect(Date.parse(leaf.validFrom)).toBeLessThan(before - 30_000)
    expect(Math.abs(Date.parse(leaf.validTo) - (before + 3_600_000))).toBeLessThan(5_000)
  })

  it('issues for 24 h by default', async () => {
    const { csrPem } = await createKeyAndRequest()
    const leaf = new X509Certificate(
      await ca.sign(csrPem, { namespace: 'default', serviceAccount: 'reviews' }),
    )
    expect(Math.abs(Date.parse(leaf.validTo) - Date.now() - 86_400_000)).toBeLessThan(5_000)
  })

  it.each([
    ['ECDSA P-384', { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' }, /ECDSA P-384/],
    [
      'RSA',
      {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
      },
      /RSASSA-PKCS1-v1_5/,
    ],
  ])('refuses a request for a %s key', async (_name, algorithm, message) => {
    const request = await csr(algorithm)
    await expect(ca.sign(request, { namespace: 'default', serviceAccount: 'reviews' })).rejects.toMatchObject(
      {
        code: 'WEFT_IDENTITY_CSR_REFUSED',
        message: expect.stringMatching(message),
      },
    )
  })

  it('refuses a request whose signature does not verify', async () => {
    const { csrPem } = await createKeyAndRequest()
    const der = Buffer.from(x509.PemConverter.decodeFirst(csrPem))
    der[der.length - 1]! ^= 0x01
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST')
    await expect(
      ca.sign(tampered, { namespace: 'default', serviceAccount: 'reviews' }),
    ).rejects.toMatchObject({
      name: 'CsrRefusedError',
      message: expect.stringMatching(/signature/),
    })
  })

  it('refuses what is not a request, and names that are not SPIFFE path segments', async () => {
    await expect(ca.sign('hello', { namespace: 'default', serviceAccount: 'reviews' })).rejects.toMatchObject(
      {
        code: 'WEFT_IDENTITY_CSR_REFUSED',
      },
    )
    const { csrPem } = await createKeyAndRequest()
    await expect(ca.sign(csrPem, { namespace: 'a/b', serviceAccount: 'reviews' })).rejects.toMatchObject({
      code: 'WEFT_IDENTITY_INVALID_OPTION',
    })
  })
})

describe('the CA store', () => {
  it('keeps a new root in files of mode 0600, written atomically, and finds it again', async () => {
    const dir = await directory('ca-files')
    const first = await openCa(dir)
    const names = await readdir(dir)
    expect(names.sort()).toEqual(
      [CA_FILES.signingCert, CA_FILES.signingKey, CA_FILES.chain, CA_FILES.roots].sort(),
    )
    for (const name of names) expect((await stat(join(dir, name))).mode & 0o777).toBe(0o600)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    const again = await openCa(dir)
    expect(again.trustBundlePem).toBe(first.trustBundlePem)
  })

  it('refuses a key that is not the certificate’s', async () => {
    const dir = await directory('ca-mismatch')
    await openCa(dir)
    const other = await mint({ ca: true, subject: 'CN=other' })
    await writeFile(join(dir, CA_FILES.signingKey), other.keyPem)
    await expect(openCa(dir)).rejects.toMatchObject({
      code: 'WEFT_IDENTITY_CA_MATERIAL_INVALID',
      message: expect.stringMatching(/ca-key.pem is not the key of ca-cert.pem/),
    })
  })
})

describe('plug-in cacerts (an operator’s root and intermediate)', () => {
  let dir: string
  let root: Pem
  let ca: CertificateAuthority
  beforeAll(async () => {
    dir = await directory('cacerts')
    root = await mint({ ca: true, subject: 'O=Istio, CN=Root CA' })
    const intermediate = await mint({ ca: true, issuer: root, subject: 'O=Istio, CN=Intermediate CA' })
    // Istio's tooling writes keys in the traditional forms; read them as they come.
    const sec1 = createPrivateKey(intermediate.keyPem).export({ format: 'pem', type: 'sec1' }).toString()
    await writeFile(join(dir, 'ca-cert.pem'), intermediate.certPem)
    await writeFile(join(dir, 'ca-key.pem'), sec1)
    await writeFile(join(dir, 'root-cert.pem'), root.certPem)
    await writeFile(join(dir, 'cert-chain.pem'), `${intermediate.certPem}\n${root.certPem}\n`)
    ca = await openCa(dir)
  })

  it('signs with the intermediate and sends it in the chain; peers trust the root alone', async () => {
    expect(ca.trustBundle).toHaveLength(1)
    expect(new X509Certificate(ca.trustBundlePem).subject).toContain('CN=Root CA')
    const { certPem } = await issue(ca, 'default', 'productpage')
    expect(certPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2)
    const server = await workloadIdentity(ca, 'reviews')
    closers.push(() => server.close())
    const port = await strictListener(server)
    const reply = await get(port, presenting(await issue(ca, 'default', 'productpage'), ca.trustBundlePem))
    expect(reply).toEqual({ status: 200, body: 'URI:spiffe://cluster.local/ns/default/sa/productpage' })
  })

  it('leaves the operator’s files alone: rotation is theirs', async () => {
    await expect(ca.introduceRoot()).rejects.toMatchObject({ code: 'WEFT_IDENTITY_ROOT_ROTATION' })
    expect(await readFile(join(dir, 'root-cert.pem'), 'utf8')).toBe(root.certPem)
  })
})

describe('root rotation with overlap', () => {
  it('introduces, activates and retires a root without refusing a live peer', {
    timeout: 30_000,
  }, async () => {
    const dir = await directory('ca-rotate')
    const ca = await openCa(dir)
    const oldServer = await workloadIdentity(ca, 'reviews')
    closers.push(() => oldServer.close())
    const oldClient = await issue(ca, 'default', 'productpage')
    expect(ca.rootRotation).toBe('steady')

    // 1. The new root is trusted everywhere before it signs anything.
    await ca.introduceRoot()
    expect(ca.rootRotation).toBe('introduced')
    expect(ca.trustBundle).toHaveLength(2)
    expect((await openCa(dir)).rootRotation).toBe('introduced')
    oldServer.setTrustBundle(ca.trustBundlePem)

    // 2. It signs; peers that hold both roots accept leaves of either.
    await ca.activateRoot()
    expect(ca.rootRotation).toBe('overlap')
    const newClient = await issue(ca, 'default', 'productpage')
    const newServer = await workloadIdentity(ca, 'reviews')
    closers.push(() => newServer.close())
    const [newRoot, oldRoot] = [ca.trustBundle[1]!, ca.trustBundle[0]!]
    expect(new X509Certificate(newClient.certPem).checkIssued(new X509Certificate(newRoot))).toBe(true)
    const oldPort = await strictListener(oldServer)
    const newPort = await strictListener(newServer)
    const both = ca.trustBundlePem
    expect((await get(oldPort, presenting(newClient, both))).status).toBe(200)
    expect((await get(oldPort, presenting(oldClient, both))).status).toBe(200)
    expect((await get(newPort, presenting(oldClient, both))).status).toBe(200)

    // 3. Retired: the old root's leaves are refused, the new root's still served.
    await ca.retireRoots()
    expect(ca.rootRotation).toBe('steady')
    expect(ca.trustBundle).toEqual([newRoot])
    expect(ca.trustBundle).not.toContain(oldRoot)
    newServer.setTrustBundle(ca.trustBundlePem)
    await expect(get(newPort, presenting(oldClient, ca.trustBundlePem))).rejects.toThrow()
    expect((await get(newPort, presenting(newClient, ca.trustBundlePem))).status).toBe(200)
    // A client of the new bundle alone refuses a server still on the old root.
    await expect(get(oldPort, { ...mtlsClientOptions(newServer) })).rejects.toThrow()
  })
})
