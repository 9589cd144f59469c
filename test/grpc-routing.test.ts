import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { meshGrpc } from '@weft/client'
import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, stopAll, type Upstream } from './support/upstreams.js'

const here = dirname(fileURLToPath(import.meta.url))
const definition = protoLoader.loadSync(join(here, 'support/reviews.proto'))
const { bookinfo } = grpc.loadPackageDefinition(definition) as unknown as {
  bookinfo: {
    Reviews: new (
      target: string,
      credentials: grpc.ChannelCredentials,
      options: grpc.ChannelOptions,
    ) => grpc.Client & {
      Get(
        request: object,
        metadata: grpc.Metadata,
        callback: (error: grpc.ServiceError | null, reply?: { name: string }) => void,
      ): void
    }
  }
}

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
let client: InstanceType<typeof bookinfo.Reviews>

function get(headers: Record<string, string> = {}): Promise<{ name?: string; code?: number }> {
  const metadata = new grpc.Metadata()
  for (const [k, v] of Object.entries(headers)) metadata.set(k, v)
  return new Promise((resolve) => {
    client.Get({ product_id: 0 }, metadata, (error, reply) =>
      resolve(error ? { code: error.code } : { name: reply?.name }),
    )
  })
}

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
  })
  client = new bookinfo.Reviews(
    mesh.target('reviews', 9080),
    grpc.credentials.createInsecure(),
    mesh.channelOptions,
  )
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
