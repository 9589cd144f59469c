// Issue #6: standalone mode. An SVID kept in files by another issuer (SPIRE, cert-manager) is
// served, and a new one written over it reaches new handshakes without a restart.
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type ConnectionOptions, connect } from 'node:tls'
import {
  type RenewalFailure,
  type RotationEvent,
  type WorkloadIdentity,
  watchSvidFiles,
} from '@weft/identity'
import { createInboundListener } from '@weft/server'
import { afterAll, describe, expect, it } from 'vitest'
import { issue, openCa, type Pem, temporaryDirectory } from './support/identity-certs.js'
import { presenting } from './support/identity-tls.js'

/** The serial number of the certificate a server presents to a new handshake. */
function servedSerial(port: number, tls: ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ ...tls, host: '127.0.0.1', port }, () => {
      resolve(socket.getPeerX509Certificate()!.serialNumber)
      socket.end()
    })
    socket.on('error', reject)
  })
}

function next<T>(identity: WorkloadIdentity, event: 'rotated' | 'renewalFailed'): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5000)
    identity.once(event, (e: unknown) => {
      clearTimeout(timer)
      resolve(e as T)
    })
  })
}

describe('an SVID from files', () => {
  const cleanup: (() => unknown)[] = []
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step()
  })

  it('is served, reloaded when the files change, and a torn set is not applied', {
    timeout: 30_000,
  }, async () => {
    const dir = await temporaryDirectory('svid-files')
    cleanup.push(dir.remove)
    const ca = await openCa(join(dir.path, 'ca'))
    const files = {
      cert: join(dir.path, 'svid.pem'),
      key: join(dir.path, 'svid_key.pem'),
      bundle: join(dir.path, 'bundle.pem'),
    }
    // As SPIRE's helper does: write beside, then rename over.
    const put = async (path: string, text: string) => {
      await writeFile(`${path}.new`, text)
      await rename(`${path}.new`, path)
    }
    const write = async (pem: Pem) => {
      await put(files.key, pem.keyPem)
      await put(files.cert, pem.certPem)
    }
    const first = await issue(ca, 'default', 'reviews')
    await write(first)
    await put(files.bundle, ca.trustBundlePem)

    const identity = await watchSvidFiles({ ...files, pollIntervalMs: 50 })
    cleanup.push(() => identity.close())
    expect(identity.svid.spiffeId.uri).toBe('spiffe://cluster.local/ns/default/sa/reviews')
    const listener = createInboundListener((_req, res) => res.end('ok'), {
      mtlsMode: () => 'STRICT',
      identity,
    })
    cleanup.push(() => listener.close(100))
    const { port } = await listener.listen(0, '127.0.0.1')
    const client = presenting(await issue(ca, 'default', 'productpage'), ca.trustBundlePem)
    const firstSerial = identity.svid.serialNumber
    expect(await servedSerial(port, client)).toBe(firstSerial)

    const second = await issue(ca, 'default', 'reviews')
    const rotated = next<RotationEvent>(identity, 'rotated')
    await write(second)
    const event = await rotated
    expect(event.cause).toBe('files')
    expect(event.previous.serialNumber).toBe(firstSerial)
    expect(await servedSerial(port, client)).toBe(identity.svid.serialNumber)
    expect(identity.svid.serialNumber).not.toBe(firstSerial)

    // A certificate written before its key: refused once, the current SVID kept.
    const third = await issue(ca, 'default', 'reviews')
    const failures: RenewalFailure[] = []
    identity.on('renewalFailed', (f) => failures.push(f))
    const failed = next<RenewalFailure>(identity, 'renewalFailed')
    await put(files.cert, third.certPem)
    expect((await failed).error).toMatchObject({ code: 'WEFT_IDENTITY_SVID_INVALID' })
    const secondSerial = identity.svid.serialNumber
    await new Promise((r) => setTimeout(r, 300))
    expect(failures).toHaveLength(1)
    expect(await servedSerial(port, client)).toBe(secondSerial)
    const healed = next<RotationEvent>(identity, 'rotated')
    await put(files.key, third.keyPem)
    expect((await healed).current.serialNumber).not.toBe(secondSerial)

    // Closed: the files are no longer read.
    identity.close()
    let changed = false
    identity.on('rotated', () => {
      changed = true
    })
    await write(await issue(ca, 'default', 'reviews'))
    await new Promise((r) => setTimeout(r, 300))
    expect(changed).toBe(false)
  })
})
