// Acceptance 4 of issue #5: a 100 req/s RateLimitPolicy bucket under 5 s of load from a second
// process holds within ±10 %, and every 429 carries Retry-After.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { createInboundPolicy, type InboundDecisionEvent, type InboundPolicy } from '@weft/server'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type RunningServer, rawRequest, startExpress, startFastify } from './support/inbound-servers.js'

const yaml = `apiVersion: weft.dev/v1alpha1
kind: RateLimitPolicy
metadata: {name: reviews, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  rules:
  - name: limited
    match: [{paths: ["/limited"]}]
    tokenBucket: {maxTokens: 10, tokensPerFill: 1, fillInterval: 10ms}
  - name: tiny
    match: [{paths: ["/tiny"]}]
    tokenBucket: {maxTokens: 2, tokensPerFill: 2, fillInterval: 60s}
  response: {headers: {x-limited-by: weft}}
---
apiVersion: weft.dev/v1alpha1
kind: RateLimitPolicy
metadata: {name: shadow, namespace: default}
spec:
  mode: DRY_RUN
  rules:
  - name: shadow-tiny
    match: [{paths: ["/shadow"]}]
    tokenBucket: {maxTokens: 1, fillInterval: 60s}
`

let snapshot: Snapshot
let inbound: InboundPolicy
const servers: RunningServer[] = []
const events: InboundDecisionEvent[] = []

beforeAll(async () => {
  const loaded = loadConfig([{ file: 'rate-limit.yaml', text: yaml }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  snapshot = compileSnapshot(loaded.resources)
  inbound = createInboundPolicy({
    snapshot: () => snapshot,
    workload: { namespace: 'default', labels: { app: 'reviews' } },
    onInboundDecision: (event) => events.push(event),
  })
  servers.push(await startExpress(inbound), await startFastify(inbound))
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await inbound?.close()
})

interface LoadResult {
  counts: Record<string, number>
  missingRetryAfter: number
  errors: number
  elapsedMs: number
}

function load(port: number, path: string, durationMs: number, connections: number): Promise<LoadResult> {
  const script = fileURLToPath(new URL('./support/inbound-load.mjs', import.meta.url))
  const child = fork(script, [`http://127.0.0.1:${port}`, path, String(durationMs), String(connections)], {
    stdio: 'ignore',
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error('load generator did not finish in 30 s'))
    }, 30_000)
    child.once('message', (m) => {
      clearTimeout(timer)
      resolve(m as LoadResult)
    })
    child.once('exit', (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)))
  })
}

it('a 100 req/s bucket admits 100 req/s ± 10 % under 5 s of load from another process', async () => {
  const server = servers[0] as RunningServer
  const result = await load(server.port, '/limited', 5000, 8)
  const ok = result.counts['200'] ?? 0
  const limited = result.counts['429'] ?? 0
  expect(result.errors).toBe(0)
  expect(limited).toBeGreaterThan(0)
  expect(result.missingRetryAfter).toBe(0)
  // The bucket starts with its burst of 10 tokens; after that it admits one per 10 ms.
  const rate = (ok - 10) / (result.elapsedMs / 1000)
  expect(rate).toBeGreaterThanOrEqual(90)
  expect(rate).toBeLessThanOrEqual(110)
}, 40_000)

it.each([0, 1])(
  'adapter %i: a limited response has the status, Retry-After, x-ratelimit-* and policy headers',
  async (i) => {
    const server = servers[i] as RunningServer
    const statuses: number[] = []
    let last: Awaited<ReturnType<typeof rawRequest>> | undefined
    for (let n = 0; n < 3; n++) {
      last = await rawRequest(server.port, 'GET', `/tiny?adapter=${i}`, [['Host', 'reviews']])
      statuses.push(last.status)
    }
    // Both adapters share one policy, hence one bucket: the first adapter spends both tokens.
    expect(statuses.at(-1)).toBe(429)
    expect(last?.body).toBe('local_rate_limited')
    expect(last?.headers['retry-after']).toMatch(/^[1-9]\d*$/)
    expect(Number(last?.headers['retry-after'])).toBeLessThanOrEqual(60)
    expect(last?.headers['x-ratelimit-limit']).toBe('2')
    expect(last?.headers['x-ratelimit-remaining']).toBe('0')
    expect(last?.headers['x-limited-by']).toBe('weft')
    expect(events.at(-1)).toMatchObject({
      stage: 'rate-limit',
      policy: 'RateLimitPolicy/default/reviews#tiny',
    })
  },
)

it('an allowed response reports the bucket in x-ratelimit-* headers', async () => {
  const res = await rawRequest((servers[0] as RunningServer).port, 'GET', '/limited', [['Host', 'reviews']])
  expect([200, 429]).toContain(res.status)
  expect(res.headers['x-ratelimit-limit']).toBe('10')
})

it('DRY_RUN counts what it would limit and limits nothing', async () => {
  const server = servers[0] as RunningServer
  events.length = 0
  const statuses: number[] = []
  for (let n = 0; n < 3; n++)
    statuses.push((await rawRequest(server.port, 'GET', '/shadow', [['Host', 'r']])).status)
  expect(statuses).toEqual([200, 200, 200])
  expect(events.map((e) => e.rateLimitDryRun)).toEqual([
    [],
    ['RateLimitPolicy/default/shadow#shadow-tiny'],
    ['RateLimitPolicy/default/shadow#shadow-tiny'],
  ])
})
