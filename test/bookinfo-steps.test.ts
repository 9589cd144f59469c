// Istio's Bookinfo tasks end to end: the demo's steps, in order, against Bookinfo's services in
// their own processes with a real control plane, each step checked against Istio's outcome here
// as well as by the step itself.
import { startBookinfo } from '@weft/example-bookinfo/bookinfo'
import { runStep, steps } from '@weft/example-bookinfo/steps'
import { share } from '@weft/example-bookinfo/traffic'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/** What the example's `drive` reports of the traffic a step sent. */
interface Summary {
  n: number
  versions: Record<string, number>
  stars: Record<string, number>
  statuses: Record<string, number>
  flags: Record<string, number>
  detailsErrors: number
  reviewsErrors: number
  ratingsErrors: number
  p50: number
  first?: { body?: string }
}
interface StepResult {
  id: string
  rows: { traffic: string; summary?: Summary; seen?: string; expected: string; ok: boolean }[]
}

let bookinfo: Awaited<ReturnType<typeof startBookinfo>>
const ctx: { bookinfo?: typeof bookinfo } = {}

beforeAll(async () => {
  bookinfo = await startBookinfo()
  ctx.bookinfo = bookinfo
}, 120_000)

afterAll(async () => {
  await bookinfo?.close()
}, 60_000)

const summary = (result: StepResult, traffic: string) => {
  const found = result.rows.find((r) => r.traffic.includes(traffic))
  if (!found?.summary) throw new Error(`no traffic "${traffic}" in ${result.id}`)
  return found.summary
}

/** What Istio's task page says the reader sees, per step, asserted apart from the step's own check. */
const outcomes: Record<string, (r: StepResult) => void> = {
  'no-rules': (r) => {
    const s = summary(r, 'anonymous')
    for (const v of ['v1', 'v2', 'v3']) expect(s.versions[v]).toBeGreaterThan(0)
  },
  'routing-all-v1': (r) => expect(summary(r, 'anonymous').versions).toEqual({ v1: 30 }),
  'routing-jason': (r) => {
    expect(summary(r, 'jason').versions).toEqual({ v2: 30 })
    expect(summary(r, 'jason').stars).toEqual({ black: 30 })
    expect(summary(r, 'anonymous').versions).toEqual({ v1: 30 })
  },
  'shifting-80-20': (r) => {
    const s = summary(r, 'anonymous')
    expect(s.n).toBeGreaterThanOrEqual(1000)
    expect(Math.abs(share(s.versions.v1, s.n) - 80)).toBeLessThanOrEqual(3)
    expect(Math.abs(share(s.versions.v2, s.n) - 20)).toBeLessThanOrEqual(3)
  },
  'shifting-50-50': (r) => {
    const s = summary(r, 'anonymous')
    expect(Math.abs(share(s.versions.v3, s.n) - 50)).toBeLessThanOrEqual(3)
  },
  'shifting-v3': (r) => expect(summary(r, 'anonymous').stars).toEqual({ red: 30 }),
  'fault-delay': (r) => {
    const jason = summary(r, 'jason')
    expect(jason.reviewsErrors).toBe(jason.n)
    // Two tries of 3 s each before productpage gives up: never sooner.
    expect(jason.p50).toBeGreaterThanOrEqual(5500)
    expect(summary(r, 'anonymous').reviewsErrors).toBe(0)
  },
  'fault-abort': (r) => {
    const jason = summary(r, 'jason')
    expect(jason.versions).toEqual({ v2: jason.n })
    expect(jason.ratingsErrors).toBe(jason.n)
    expect(summary(r, 'anonymous').ratingsErrors).toBe(0)
  },
  'timeout-delay': (r) => {
    const s = summary(r, 'anonymous')
    expect(s.stars).toEqual({ black: s.n })
    expect(s.p50).toBeGreaterThanOrEqual(2000)
  },
  'timeout-half-second': (r) => {
    const s = summary(r, 'anonymous')
    expect(s.reviewsErrors).toBe(s.n)
    expect(s.p50).toBeGreaterThanOrEqual(1000)
  },
  'circuit-breaking': (r) => {
    const s = summary(r, 'anonymous')
    expect(s.statuses['200']).toBeGreaterThan(0)
    expect(s.statuses['503']).toBeGreaterThan(0)
    expect(s.flags.UO).toBe(s.statuses['503'])
  },
  mirroring: (r) => {
    expect(summary(r, 'anonymous').versions).toEqual({ v1: 50 })
    expect(r.rows.find((row) => row.traffic.includes('metrics'))?.seen).toBe('50 served by v2')
  },
  'mtls-strict': (r) => {
    for (const probe of ['plaintext to productpage', 'plaintext to ratings']) {
      expect(r.rows.find((row) => row.traffic === probe)?.seen).toMatch(/^refused/)
    }
    expect(summary(r, 'anonymous').statuses).toEqual({ 200: 20 })
    expect(summary(r, 'jason').stars).toEqual({ black: 10 })
  },
  'authz-deny-all': (r) => {
    const s = summary(r, 'anonymous')
    expect(s.statuses).toEqual({ 403: 10 })
    expect(s.first?.body).toBe('RBAC: access denied')
  },
  'authz-productpage': (r) => {
    const s = summary(r, 'anonymous')
    expect([s.detailsErrors, s.reviewsErrors]).toEqual([10, 10])
  },
  'authz-details-reviews': (r) => {
    const s = summary(r, 'anonymous')
    expect([s.detailsErrors, s.reviewsErrors, s.ratingsErrors]).toEqual([0, 0, 10])
  },
  'authz-ratings': (r) => expect(summary(r, 'anonymous').stars).toEqual({ red: 10 }),
  'jwt-authentication': (r) => {
    expect(summary(r, 'without a token').statuses).toEqual({ 200: 5 })
    expect(summary(r, 'demo.jwt').statuses).toEqual({ 200: 5 })
    expect(summary(r, 'invalid token').statuses).toEqual({ 401: 5 })
  },
  'jwt-require': (r) => {
    expect(summary(r, 'without a token').statuses).toEqual({ 403: 5 })
    expect(summary(r, 'demo.jwt').statuses).toEqual({ 200: 5 })
  },
}

describe.sequential('Bookinfo on Weft, through Istio’s tasks with Istio’s YAML', () => {
  it('every step of the demo has its own assertions here', () => {
    expect(steps.map((s) => s.id).sort()).toEqual(Object.keys(outcomes).sort())
  })

  for (const step of steps) {
    it(step.title, async () => {
      const result: StepResult = await runStep(step, ctx)
      for (const row of result.rows) expect(row.ok, `${row.traffic}: expected ${row.expected}`).toBe(true)
      outcomes[step.id]?.(result)
    }, 180_000)
  }
})
