// Issue #6, acceptance 3: certificates that live 10 s, a bounded 30-second stream of calls over
// mutual TLS from a client that rotates too: no call fails, and the certificate the server
// presents changes at least twice, as new handshakes see it.
import type { TLSSocket } from 'node:tls'
import { mtlsClientOptions, type RotationEvent, type WorkloadIdentity } from '@weft/identity'
import { createInboundListener, type InboundListener } from '@weft/server'
import { buildConnector, Pool } from 'undici'
import { afterAll, describe, expect, it } from 'vitest'
import { openCa, temporaryDirectory, workloadIdentity } from './support/identity-certs.js'

const LIFETIME_MS = 10_000
const RUN_MS = 30_000
const CALLERS = 4
const MAX_CALLS = 500_000

describe('certificate rotation under load', () => {
  const cleanup: (() => Promise<void> | void)[] = []
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step()
  })

  it('rotates both sides every 5 s with no failed call', { timeout: 90_000 }, async () => {
    const dir = await temporaryDirectory('rotation')
    cleanup.push(dir.remove)
    const ca = await openCa(dir.path)
    const server: WorkloadIdentity = await workloadIdentity(ca, 'reviews', LIFETIME_MS)
    const client: WorkloadIdentity = await workloadIdentity(ca, 'productpage', LIFETIME_MS)
    cleanup.push(
      () => server.close(),
      () => client.close(),
    )
    const rotations: RotationEvent[] = []
    server.on('rotated', (e) => rotations.push(e))
    client.on('rotated', (e) => rotations.push(e))

    const clientSerialsSeen = new Set<string>()
    const listener: InboundListener = createInboundListener(
      (req, res) => {
        clientSerialsSeen.add((req.socket as TLSSocket).getPeerX509Certificate()!.serialNumber)
        res.end('ok')
      },
      { mtlsMode: () => 'STRICT', identity: server },
    )
    // Connections end after 25 requests, so that new handshakes keep happening while others
    // stay open across rotations.
    listener.httpServer.maxRequestsPerSocket = 25
    cleanup.push(() => listener.close(100))
    const { port } = await listener.listen(0, '127.0.0.1')

    const servedSerials = new Set<string>()
    const pool = new Pool(`https://127.0.0.1:${port}`, {
      connections: CALLERS,
      // A connector per connection, built from the client's credentials of the moment.
      connect(options, callback) {
        const connector = buildConnector({
          ...mtlsClientOptions(client, { expectedIds: ['spiffe://cluster.local/ns/default/sa/reviews'] }),
        })
        connector(options, (error, socket) => {
          if (socket) servedSerials.add((socket as TLSSocket).getPeerX509Certificate()!.serialNumber)
          callback(error, socket)
        })
      },
    })
    cleanup.push(() => pool.destroy())

    const failures: string[] = []
    let calls = 0
    const end = Date.now() + RUN_MS
    const caller = async () => {
      while (Date.now() < end && calls < MAX_CALLS) {
        calls++
        try {
          const res = await pool.request({ method: 'GET', path: '/' })
          const body = await res.body.text()
          if (res.statusCode !== 200 || body !== 'ok') failures.push(`status ${res.statusCode}`)
        } catch (error) {
          failures.push(String(error))
        }
      }
    }
    await Promise.all(Array.from({ length: CALLERS }, caller))

    expect(failures).toEqual([])
    expect(calls).toBeGreaterThan(100)
    // 30 s at a renewal every 5 s: about six certificates each; at least three (two changes).
    expect(servedSerials.size).toBeGreaterThanOrEqual(3)
    expect(clientSerialsSeen.size).toBeGreaterThanOrEqual(3)
    expect(rotations.filter((r) => r.cause === 'renewal').length).toBeGreaterThanOrEqual(4)
  })
})
