// The mesh passes responses between undici's Agent and whatever handler the caller gave, in
// both of undici 7's handler shapes, without losing flow control, trailers or aborts. These
// are the contracts a rewrite of the hot path must keep (docs/decisions.md: the legacy handler
// shape).
import { createMeshDispatcher, type OutboundRequestEvent, RESPONSE_FLAGS_HEADER } from '@weft/client'
import { compileSnapshot, loadConfig, type RegistryEndpoint } from '@weft/config'
import { type Dispatcher, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, stopAll, type Upstream } from './support/upstreams.js'

const upstreams: Upstream[] = []
let dispatcher: Dispatcher
const ended: OutboundRequestEvent[] = []

const rules = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    headers:
      response: {set: {x-mesh: reviews}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: slow}
spec:
  hosts: [slow]
  http:
  - route:
    - destination: {host: slow}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: busy}
spec:
  hosts: [busy]
  http:
  - route:
    - destination: {host: busy}
    retries: {attempts: 3, retryOn: 5xx}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: faulty}
spec:
  hosts: [faulty]
  http:
  - route:
    - destination: {host: reviews}
    fault:
      abort: {httpStatus: 503, percentage: {value: 100}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: delayed}
spec:
  hosts: [delayed]
  http:
  - route:
    - destination: {host: reviews}
    fault:
      delay: {fixedDelay: 1500ms, percentage: {value: 100}}
`

beforeAll(async () => {
  const [reviews, slow, busy] = await Promise.all([
    startUpstream('reviews-v1'),
    startUpstream('slow-v1', { UPSTREAM_DELAY_MS: '2000' }),
    startUpstream('busy-v1', { UPSTREAM_STATUS: '503', UPSTREAM_RETRY_AFTER: '5' }),
  ])
  upstreams.push(reviews, slow, busy)
  const registry: RegistryEndpoint[] = [
    {
      service: 'reviews',
      namespace: 'default',
      address: '127.0.0.1',
      port: reviews.port,
      labels: { app: 'reviews' },
    },
    { service: 'slow', namespace: 'default', address: '127.0.0.1', port: slow.port, labels: { app: 'slow' } },
    { service: 'busy', namespace: 'default', address: '127.0.0.1', port: busy.port, labels: { app: 'busy' } },
  ]
  const snapshot = compileSnapshot(loadConfig([{ file: 'rules.yaml', text: rules }]).resources, { registry })
  dispatcher = createMeshDispatcher({
    snapshot: () => snapshot,
    source: { namespace: 'default', labels: { app: 'productpage' } },
    onRequestEnd: (event) => ended.push(event),
  })
}, 30_000)

afterAll(async () => {
  await dispatcher?.close()
  await stopAll(upstreams)
})

/** An interceptor written to undici's controller API, composed outside the mesh. */
function recordingInterceptor(seen: { status?: number; headers?: Record<string, unknown>; bytes: number }) {
  return (dispatch: Dispatcher.Dispatch): Dispatcher.Dispatch =>
    (opts, handler) =>
      dispatch(opts, {
        onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
        onResponseStart(controller, status, headers, message) {
          seen.status = status
          seen.headers = headers
          handler.onResponseStart?.(controller, status, headers, message)
        },
        onResponseData(controller, chunk) {
          seen.bytes += chunk.length
          handler.onResponseData?.(controller, chunk)
        },
        onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
        onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
      })
}

describe('handlers on both sides of the mesh', () => {
  it('a controller-API interceptor composed outside the mesh sees the response, the mesh’s headers included', async () => {
    const seen = { bytes: 0 } as { status?: number; headers?: Record<string, unknown>; bytes: number }
    const outer = dispatcher.compose(recordingInterceptor(seen))
    const res = await request('http://reviews:9080/reviews/1', { dispatcher: outer })
    const text = await res.body.text()
    const body = JSON.parse(text) as { name: string; url: string }
    expect([res.statusCode, body.name, body.url]).toEqual([200, 'reviews-v1', '/reviews/1'])
    expect(seen.status).toBe(200)
    expect(seen.headers?.['x-mesh']).toBe('reviews')
    expect(seen.headers?.['x-upstream']).toBe('reviews-v1')
    expect(res.headers['x-mesh']).toBe('reviews')
    expect(seen.bytes).toBe(Buffer.byteLength(text))
  })

  it('a 4 MiB body read slowly arrives whole, and the trailers after it', async () => {
    const size = 4 * 1024 * 1024
    const res = await request('http://reviews:9080/__bytes/4194304', { dispatcher })
    let received = 0
    let chunks = 0
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length
      // A slow reader: the upstream must be held back, not buffered without bound.
      if (++chunks % 16 === 0) await new Promise((r) => setTimeout(r, 5))
    }
    expect(received).toBe(size)
    expect(res.trailers['x-bytes']).toBe(String(size))
  })

  it('a caller that aborts while the upstream thinks gets its abort reason at once, not the upstream’s answer', async () => {
    const controller = new AbortController()
    const started = performance.now()
    const pending = request('http://slow:9080/think', { dispatcher, signal: controller.signal })
    setTimeout(() => controller.abort(new Error('caller gave up')), 100)
    await expect(pending).rejects.toThrow('caller gave up')
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('an abort before the mesh has sent anything still reaches the caller', async () => {
    const controller = new AbortController()
    controller.abort(new Error('aborted before sending'))
    await expect(
      request('http://reviews:9080/reviews/2', { dispatcher, signal: controller.signal }),
    ).rejects.toThrow('aborted before sending')
  })

  it('a caller that aborts during an injected delay hears it at once, and the request never leaves', async () => {
    const controller = new AbortController()
    const started = performance.now()
    const pending = request('http://delayed:9080/held', { dispatcher, signal: controller.signal })
    setTimeout(() => controller.abort(new Error('not waiting out the delay')), 100)
    await expect(pending).rejects.toThrow('not waiting out the delay')
    expect(performance.now() - started).toBeLessThan(1000)
    const event = ended.find((e) => e.host.startsWith('delayed.'))
    expect([event?.error?.message, event?.flags, event?.attempts]).toEqual([
      'not waiting out the delay',
      ['DI'],
      0,
    ])
    // Past the end of the 1.5 s delay: had its timer run on, the upstream would have had the request.
    await new Promise((r) => setTimeout(r, 1500 - (performance.now() - started) + 300))
    const last = await request(`http://127.0.0.1:${upstreams[0]?.port}/__last`)
    expect(((await last.body.json()) as { url?: string } | null)?.url).not.toBe('/held')
  })

  it('a caller that aborts while a retried request waits between attempts hears the abort', async () => {
    const controller = new AbortController()
    const started = performance.now()
    // `busy` answers 503 with Retry-After: 5, so the mesh waits 5 s before its retry.
    const pending = request('http://busy:9080/later', { dispatcher, signal: controller.signal })
    setTimeout(() => controller.abort(new Error('stop retrying')), 200)
    await expect(pending).rejects.toThrow('stop retrying')
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('a mesh-made answer (an injected abort) reaches a controller-API interceptor with its flags', async () => {
    const seen = { bytes: 0 } as { status?: number; headers?: Record<string, unknown>; bytes: number }
    const outer = dispatcher.compose(recordingInterceptor(seen))
    const res = await request('http://faulty:9080/any', { dispatcher: outer })
    expect(await res.body.text()).toBe('fault filter abort')
    expect([res.statusCode, seen.status, seen.headers?.[RESPONSE_FLAGS_HEADER]]).toEqual([503, 503, 'FI'])
    expect(seen.bytes).toBe('fault filter abort'.length)
  })
})
