import * as grpc from '@grpc/grpc-js'
import { meshGrpc, type OutboundRequestEvent, RESPONSE_FLAGS_HEADER } from '@weft/client'
import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Reviews, type ReviewsClient } from './support/reviews-client.js'
import { startUpstream, stopAll, type Upstream } from './support/upstreams.js'

const upstreams: Upstream[] = []
let current: Snapshot
const rules = (http: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
${http}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
`

function use(yaml: string): void {
  const loaded = loadConfig([{ file: 'grpc.yaml', text: yaml }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  current = compileSnapshot(loaded.resources, {
    registry: upstreams.map((u, i) => ({
      service: 'reviews',
      namespace: 'default',
      address: '127.0.0.1',
      port: u.port,
      labels: { app: 'reviews', version: `v${i + 1}` },
    })),
  })
}

let mesh: ReturnType<typeof meshGrpc>

/** mulberry32: a small, well-mixed seeded generator. */
function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
let client: ReviewsClient

interface Reply {
  name?: string
  code?: number
  /** `x-weft-response-flags` from the call's status metadata. */
  flags?: string
  ms: number
}

function get(headers: Record<string, string> = {}): Promise<Reply> {
  const metadata = new grpc.Metadata()
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v)
  const started = performance.now()
  return new Promise((resolve) => {
    let flags: string | undefined
    let reply: Omit<Reply, 'ms'> | undefined
    const done = () => {
      if (reply && flags !== undefined)
        resolve({ ...reply, ...(flags ? { flags } : {}), ms: performance.now() - started })
    }
    const call = client.Get({ product_id: 0 }, metadata, (error, answer) => {
      reply = error ? { code: error.code } : { name: answer?.name }
      done()
    })
    call.on('status', (status: grpc.StatusObject) => {
      flags = String(status.metadata.get(RESPONSE_FLAGS_HEADER)[0] ?? '')
      done()
    })
  })
}

const events: OutboundRequestEvent[] = []

beforeAll(async () => {
  upstreams.push(
    ...(await Promise.all(['reviews-v1', 'reviews-v2'].map((n) => startUpstream(n, {}, 'grpc')))),
  )
  use(rules('  - route:\n    - destination: {host: reviews, subset: v1}\n'))
  // Seeded, so that the split is checked on a known sequence of draws rather than on luck.
  mesh = meshGrpc({
    snapshot: () => current,
    source: { namespace: 'default', labels: { app: 'productpage' } },
    random: seeded(42),
    onRequestEnd: (event) => events.push(event),
  })
  client = new Reviews(mesh.target('reviews', 9080), grpc.credentials.createInsecure(), mesh.channelOptions)
}, 30_000)

afterAll(async () => {
  client?.close()
  mesh?.close()
  await stopAll(upstreams)
})

describe('gRPC through a weft:/// target, against real grpc-js servers', () => {
  it('an 80/20 split holds within ±3 points over 2,000 calls', async () => {
    use(
      rules(
        '  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: 80\n    - destination: {host: reviews, subset: v2}\n      weight: 20\n',
      ),
    )
    const counts: Record<string, number> = {}
    for (let batch = 0; batch < 20; batch++) {
      const replies = await Promise.all(Array.from({ length: 100 }, () => get()))
      for (const r of replies)
        counts[r.name ?? `code ${r.code}`] = (counts[r.name ?? `code ${r.code}`] ?? 0) + 1
    }
    expect(Math.abs((counts['reviews-v1'] ?? 0) / 20 - 80)).toBeLessThanOrEqual(3)
    expect((counts['reviews-v1'] ?? 0) + (counts['reviews-v2'] ?? 0)).toBe(2000)
  })

  it('routes by metadata, as HTTP headers: end-user jason reaches v2', async () => {
    use(
      rules(
        '  - match:\n    - headers: {end-user: {exact: jason}}\n    route:\n    - destination: {host: reviews, subset: v2}\n  - route:\n    - destination: {host: reviews, subset: v1}\n',
      ),
    )
    expect((await get({ 'end-user': 'jason' })).name).toBe('reviews-v2')
    expect((await get({ 'end-user': 'ann' })).name).toBe('reviews-v1')
  })

  it('a grpcStatus abort fails the call with that status', async () => {
    use(
      rules(
        '  - match:\n    - headers: {end-user: {exact: jason}}\n    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews, subset: v1}\n  - route:\n    - destination: {host: reviews, subset: v1}\n',
      ),
    )
    expect((await get({ 'end-user': 'jason' })).code).toBe(grpc.status.UNAVAILABLE)
    expect((await get()).name).toBe('reviews-v1')
  })

  it('a delay fault holds the call 300 ms, flagged DI; others go at once', async () => {
    use(
      rules(
        '  - match:\n    - headers: {end-user: {exact: jason}}\n    fault: {delay: {fixedDelay: 300ms, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews, subset: v1}\n  - route:\n    - destination: {host: reviews, subset: v1}\n',
      ),
    )
    await get()
    const delayed = await get({ 'end-user': 'jason' })
    expect(delayed.name).toBe('reviews-v1')
    expect(delayed.ms).toBeGreaterThanOrEqual(295)
    // The floor is the fault; the ceiling leaves room for a busy 2-core CI machine.
    expect(delayed.ms).toBeLessThanOrEqual(400)
    expect(delayed.flags).toBe('DI')
    const other = await get()
    expect(other.ms).toBeLessThan(250)
    expect(other.flags).toBeUndefined()
  })

  it('a call past its deadline, or cancelled, during an injected delay ends then', async () => {
    use(
      rules(
        '  - fault: {delay: {fixedDelay: 1500ms, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews, subset: v1}\n',
      ),
    )
    const outcome = (deadlineMs: number | undefined, cancelAfterMs: number | undefined) => {
      const started = performance.now()
      return new Promise<{ code?: number; ms: number }>((resolve) => {
        const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs }
        const call = client.Get({ product_id: 0 }, new grpc.Metadata(), options, (error) =>
          resolve({ code: error?.code, ms: performance.now() - started }),
        )
        if (cancelAfterMs !== undefined) setTimeout(() => call.cancel(), cancelAfterMs)
      })
    }
    const [late, cancelled] = await Promise.all([outcome(300, undefined), outcome(undefined, 100)])
    expect(late.code).toBe(grpc.status.DEADLINE_EXCEEDED)
    expect(late.ms).toBeLessThan(1000)
    expect(cancelled.code).toBe(grpc.status.CANCELLED)
    expect(cancelled.ms).toBeLessThan(1000)
  })

  it('the route’s header operations apply to the call’s metadata', async () => {
    use(
      rules(
        '  - headers: {request: {set: {x-echo: from-route}}}\n    route:\n    - destination: {host: reviews, subset: v2}\n',
      ),
    )
    expect((await get()).name).toBe('reviews-v2+from-route')
  })

  it('the client interceptor reports each call: rule, subset, endpoint, gRPC status, flags', async () => {
    use(
      rules(
        '  - match:\n    - headers: {end-user: {exact: jason}}\n    fault: {abort: {grpcStatus: PERMISSION_DENIED, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews, subset: v1}\n  - route:\n    - destination: {host: reviews, subset: v2}\n',
      ),
    )
    events.length = 0
    const ok = await get()
    const denied = await get({ 'end-user': 'jason' })
    expect(denied).toMatchObject({ code: grpc.status.PERMISSION_DENIED, flags: 'FI' })
    expect(ok.name).toBe('reviews-v2')
    expect(events).toHaveLength(2)
    const v2 = upstreams[1] as Upstream
    expect(events[0]).toMatchObject({
      host: 'reviews.default.svc.cluster.local',
      rule: 'VirtualService/default/reviews#http[1]',
      target: { host: 'reviews.default.svc.cluster.local', subset: 'v2', port: 9080 },
      endpoint: `127.0.0.1:${v2.port}`,
      grpcStatus: grpc.status.OK,
      flags: [],
    })
    expect(events[1]).toMatchObject({
      rule: 'VirtualService/default/reviews#http[0]',
      grpcStatus: grpc.status.PERMISSION_DENIED,
      flags: ['FI'],
    })
  })

  it('routes by the method path: a uri match on /bookinfo.Reviews/Get', async () => {
    use(
      rules(
        '  - match:\n    - uri: {exact: /bookinfo.Reviews/Get}\n    route:\n    - destination: {host: reviews, subset: v2}\n',
      ),
    )
    expect((await get()).name).toBe('reviews-v2')
  })

  it('a new endpoint reaches calls once the mesh re-resolves its channels', async () => {
    upstreams.push(await startUpstream('reviews-v3', {}, 'grpc'))
    use(rules('  - route:\n    - destination: {host: reviews, subset: v3}\n'))
    mesh.refresh()
    const deadline = Date.now() + 5000
    let reply = await get()
    while (reply.name !== 'reviews-v3' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
      reply = await get()
    }
    expect(reply.name).toBe('reviews-v3')
  })
})
