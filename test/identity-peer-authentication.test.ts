// Issue #6, acceptance 1: STRICT refuses plaintext, a foreign CA, an expired certificate, two URI
// SANs and a CA certificate used as a leaf; PERMISSIVE serves plaintext and mTLS on one port;
// DISABLE serves plaintext. Real handshakes on 127.0.0.1.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { MtlsMode } from '@weft/core'
import {
  type CertificateAuthority,
  mtlsClientOptions,
  principalOf,
  type WorkloadIdentity,
} from '@weft/identity'
import {
  type ConnectionRefusal,
  createInboundListener,
  type InboundListener,
  peerPrincipal,
} from '@weft/server'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
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

const REVIEWS = 'spiffe://cluster.local/ns/default/sa/reviews'

describe('PeerAuthentication on a real listener', () => {
  let dir: Awaited<ReturnType<typeof temporaryDirectory>>
  let foreignDir: Awaited<ReturnType<typeof temporaryDirectory>>
  let ca: CertificateAuthority
  let caPem: Pem
  let server: WorkloadIdentity
  let client: WorkloadIdentity
  let listener: InboundListener
  let port: number
  let mode: MtlsMode = 'STRICT'
  let handled = 0
  const refusals: ConnectionRefusal[] = []

  beforeAll(async () => {
    dir = await temporaryDirectory('pa')
    foreignDir = await temporaryDirectory('pa-foreign')
    ca = await openCa(dir.path)
    caPem = {
      certPem: await readFile(join(dir.path, 'ca-cert.pem'), 'utf8'),
      keyPem: await readFile(join(dir.path, 'ca-key.pem'), 'utf8'),
    }
    server = await workloadIdentity(ca, 'reviews')
    client = await workloadIdentity(ca, 'productpage')
    listener = createInboundListener(
      (req, res) => {
        handled++
        // Both readers of the peer: the identity package's and the inbound policy's.
        const fromCert = req.socket.encrypted ? principalOf(req.socket.getPeerX509Certificate()) : undefined
        res.end(JSON.stringify({ principal: peerPrincipal(req.socket) ?? null, fromCert: fromCert ?? null }))
      },
      { mtlsMode: () => mode, identity: server, onConnectionRefused: (r) => refusals.push(r) },
    )
    port = (await listener.listen(0, '127.0.0.1')).port
  })

  afterAll(async () => {
    await listener?.close(100)
    server?.close()
    client?.close()
    await dir?.remove()
    await foreignDir?.remove()
  })

  beforeEach(() => {
    refusals.length = 0
  })

  const mtls = () => mtlsClientOptions(client, { expectedIds: [REVIEWS] })

  /** Expects the call to fail without the handler seeing it, and returns the listener's reason. */
  async function refused(tls?: Parameters<typeof get>[1]): Promise<string | undefined> {
    const before = handled
    await expect(get(port, tls)).rejects.toThrow()
    expect(handled).toBe(before)
    // The refusal may be reported a moment after the client saw its connection close.
    for (let i = 0; i < 50 && refusals.length === 0; i++) await new Promise((r) => setTimeout(r, 20))
    return refusals[0]?.reason
  }

  describe('STRICT', () => {
    beforeAll(() => {
      mode = 'STRICT'
    })

    it('serves a mesh workload over mutual TLS, with its principal readable by the handler', async () => {
      const reply = await get(port, mtls())
      expect(reply.status).toBe(200)
      expect(JSON.parse(reply.body)).toEqual({
        principal: 'cluster.local/ns/default/sa/productpage',
        fromCert: 'cluster.local/ns/default/sa/productpage',
      })
    })

    it('refuses plaintext', async () => {
      expect(await refused()).toBe('plaintext')
    })

    it('refuses TLS without a client certificate', async () => {
      expect(await refused({ ca: ca.trustBundlePem, checkServerIdentity: () => undefined })).toBe('handshake')
    })

    it('refuses a certificate from a foreign CA, even in the same trust domain', async () => {
      const foreign = await openCa(foreignDir.path)
      const pem = await issue(foreign, 'default', 'productpage')
      expect(await refused(presenting(pem, ca.trustBundlePem))).toBe('handshake')
    })

    it('refuses an expired certificate from the mesh CA', async () => {
      const past = await openCa(dir.path, { clock: () => Date.now() - 2 * 86_400_000 })
      const pem = await issue(past, 'default', 'productpage', 3_600_000)
      expect(await refused(presenting(pem, ca.trustBundlePem))).toBe('handshake')
    })

    it('refuses a certificate with two URI SANs', async () => {
      const pem = await mint({
        issuer: caPem,
        subject: 'CN=two',
        uris: [
          'spiffe://cluster.local/ns/default/sa/productpage',
          'spiffe://cluster.local/ns/default/sa/admin',
        ],
      })
      expect(await refused(presenting(pem, ca.trustBundlePem))).toBe('several-uri-sans')
    })

    it('refuses a CA certificate used as a leaf', async () => {
      const pem = await mint({
        issuer: caPem,
        subject: 'CN=sub-ca',
        ca: true,
        uris: ['spiffe://cluster.local/ns/default/sa/productpage'],
      })
      expect(await refused(presenting(pem, ca.trustBundlePem))).toBe('ca-certificate')
    })

    it('refuses an SVID of another trust domain signed by the mesh CA', async () => {
      const pem = await mint({
        issuer: caPem,
        subject: 'CN=td',
        uris: ['spiffe://evil.example/ns/default/sa/productpage'],
      })
      expect(await refused(presenting(pem, ca.trustBundlePem))).toBe('foreign-trust-domain')
    })

    it('refuses a leaf whose key usage allows signing CRLs', async () => {
      const pem = await mint({
        issuer: caPem,
        subject: 'CN=crl',
        uris: ['spiffe://cluster.local/ns/default/sa/productpage'],
        keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.cRLSign,
      })
      expect(await refused(presenting(pem, ca.trustBundlePem))).toBe('key-usage')
    })

    it('refuses a mesh certificate without a URI SAN', async () => {
      const pem = await mint({ issuer: caPem, subject: 'CN=nosan' })
      expect(await refused(presenting(pem, ca.trustBundlePem))).toBe('no-uri-san')
    })
  })

  describe('the client side', () => {
    beforeAll(() => {
      mode = 'STRICT'
    })

    it('refuses a server whose SPIFFE ID is not the one expected', async () => {
      const tls = mtlsClientOptions(client, { expectedIds: ['spiffe://cluster.local/ns/default/sa/ratings'] })
      await expect(get(port, tls)).rejects.toMatchObject({
        code: 'WEFT_IDENTITY_PEER_REFUSED',
        reason: 'unexpected-identity',
      })
    })
  })

  describe('PERMISSIVE', () => {
    beforeAll(() => {
      mode = 'PERMISSIVE'
    })

    it('serves plaintext and mutual TLS on one port', async () => {
      const plain = await get(port)
      const secure = await get(port, mtls())
      expect([plain.status, secure.status]).toEqual([200, 200])
      expect(JSON.parse(plain.body).principal).toBeNull()
      expect(JSON.parse(secure.body).principal).toBe('cluster.local/ns/default/sa/productpage')
    })

    it('still checks the certificates of TLS peers', async () => {
      const pem = await mint({
        issuer: caPem,
        subject: 'CN=two',
        uris: ['spiffe://cluster.local/ns/default/sa/a', 'spiffe://cluster.local/ns/default/sa/b'],
      })
      expect(await refused(presenting(pem, ca.trustBundlePem))).toBe('several-uri-sans')
    })

    it('closes a kept-alive plaintext connection at its next request once the port turns STRICT', async () => {
      const { Client } = await import('undici')
      const keptAlive = new Client(`http://127.0.0.1:${port}`)
      try {
        const first = await keptAlive.request({ method: 'GET', path: '/' })
        await first.body.text()
        expect(first.statusCode).toBe(200)
        mode = 'STRICT'
        const before = handled
        await expect(
          keptAlive.request({ method: 'GET', path: '/' }).then((r) => r.body.text()),
        ).rejects.toThrow()
        expect(handled).toBe(before)
      } finally {
        mode = 'PERMISSIVE'
        await keptAlive.destroy()
      }
    })
  })

  describe('DISABLE', () => {
    beforeAll(() => {
      mode = 'DISABLE'
    })

    it('serves plaintext', async () => {
      const reply = await get(port)
      expect(reply.status).toBe(200)
      expect(JSON.parse(reply.body).principal).toBeNull()
    })
  })
})
