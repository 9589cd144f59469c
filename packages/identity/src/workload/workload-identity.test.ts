import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CertificateAuthority } from '../ca/certificate-authority.js'
import { FileCaStore } from '../ca/file-ca-store.js'
import { createWorkloadIdentity } from './create-workload-identity.js'
import type { RenewalFailure, RotationEvent } from './workload-identity.js'

describe('WorkloadIdentity renewal', () => {
  let dir: string
  let ca: CertificateAuthority
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-renewal-'))
    ca = await CertificateAuthority.open({ store: new FileCaStore(dir) })
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('keeps its certificate through failed renewals, retries, then rotates', {
    timeout: 15_000,
  }, async () => {
    let failuresLeft = 0
    const identity = await createWorkloadIdentity({
      requestCertificate: async (csrPem) => {
        if (failuresLeft > 0) {
          failuresLeft--
          throw new Error('control plane unreachable')
        }
        return ca.sign(csrPem, { namespace: 'default', serviceAccount: 'reviews', ttlMs: 1_000 })
      },
      trustBundle: ca.trustBundlePem,
      retryInitialDelayMs: 40,
      retryMaxDelayMs: 100,
    })
    try {
      const first = identity.svid
      const context = identity.secureContext
      const failures: RenewalFailure[] = []
      identity.on('renewalFailed', (f) => {
        failures.push(f)
        expect(identity.svid).toBe(first)
        expect(identity.secureContext).toBe(context)
      })
      failuresLeft = 2
      const rotated = await new Promise<RotationEvent>((resolve) => identity.once('rotated', resolve))
      expect(failures.map((f) => f.failures)).toEqual([1, 2])
      expect(failures[0]!.error).toMatchObject({ code: 'WEFT_IDENTITY_CERTIFICATE_REQUEST_FAILED' })
      expect(rotated).toMatchObject({ cause: 'renewal', previous: first, current: identity.svid })
      expect(identity.svid.serialNumber).not.toBe(first.serialNumber)
      expect(identity.svid.keyPem).not.toBe(first.keyPem)
      expect(identity.secureContext).not.toBe(context)
    } finally {
      identity.close()
    }
  })

  it('stops renewing once closed', { timeout: 5_000 }, async () => {
    let requests = 0
    const identity = await createWorkloadIdentity({
      requestCertificate: (csrPem) => {
        requests++
        return ca.sign(csrPem, { namespace: 'default', serviceAccount: 'reviews', ttlMs: 1_000 })
      },
      trustBundle: ca.trustBundlePem,
    })
    identity.close()
    await new Promise((r) => setTimeout(r, 1_200))
    expect(requests).toBe(1)
  })

  it('fails to start, saying why, when no first certificate can be had', async () => {
    await expect(
      createWorkloadIdentity({
        requestCertificate: () => Promise.reject(new Error('401 unauthorized')),
        trustBundle: ca.trustBundlePem,
      }),
    ).rejects.toMatchObject({
      code: 'WEFT_IDENTITY_CERTIFICATE_REQUEST_FAILED',
      message: expect.stringMatching(/401 unauthorized/),
    })
  })
})
