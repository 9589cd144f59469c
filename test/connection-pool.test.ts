import { createMeshDispatcher, RESPONSE_FLAGS_HEADER } from '@weft/client'
import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { type Dispatcher, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, stopAll, type Upstream } from './support/upstreams.js'

// Istio's circuit-breaking task, with httpbin replaced by an upstream that takes 300 ms.
const rules = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: httpbin }
spec:
  host: httpbin
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 1, connectTimeout: 250ms }
      http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 }
`

let upstream: Upstream
let dispatcher: Dispatcher
let snapshot: Snapshot

beforeAll(async () => {
  upstream = await startUpstream('httpbin', { UPSTREAM_DELAY_MS: '300' })
  const loaded = loadConfig([{ file: 'circuit-breaking.yaml', text: rules }])
  expect(loaded.diagnostics).toEqual([])
  snapshot = compileSnapshot(loaded.resources, {
    registry: [
      {
        service: 'httpbin',
        namespace: 'default',
        address: '127.0.0.1',
        port: upstream.port,
        labels: { app: 'httpbin' },
      },
    ],
  })
  dispatcher = createMeshDispatcher({
    snapshot: () => snapshot,
    source: { namespace: 'default', labels: { app: 'fortio' } },
  })
}, 30_000)

afterAll(async () => {
  await dispatcher?.close()
  await stopAll(upstream ? [upstream] : [])
})

describe('connectionPool limits (Istio circuit-breaking task) against a real upstream', () => {
  it('maxConnections 1 + http1MaxPendingRequests 1: two of six concurrent calls pass, four overflow with 503 UO', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await request('http://httpbin:8000/get', { dispatcher })
        await res.body.text()
        return { status: res.statusCode, flags: res.headers[RESPONSE_FLAGS_HEADER] }
      }),
    )
    expect(answers.filter((a) => a.status === 200)).toHaveLength(2)
    const overflowed = answers.filter((a) => a.status === 503)
    expect(overflowed).toHaveLength(4)
    for (const a of overflowed) expect(a.flags).toBe('UO')
    // One connection: the pending request waited for it rather than opening a second.
    expect(await upstream.peakInFlight()).toBe(1)
  })

  it('once the calls in flight finish, the pool admits again', async () => {
    const res = await request('http://httpbin:8000/get', { dispatcher })
    await res.body.text()
    expect(res.statusCode).toBe(200)
  })
})
