import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../errors.js'
import { mulberry32 } from '../test-support/seeded-random.js'
import { createRetryBudget, type RetryBudgetOptions } from './retry-budget.js'

describe('retry budget', () => {
  const caps: { name: string; options?: RetryBudgetOptions; active: number; expected: number }[] = [
    { name: 'Envoy: budget_percent defaults to 20 % of active requests', active: 100, expected: 20 },
    {
      name: 'Envoy: the share is rounded down (20 % of 14 is 2, the floor of 3 applies)',
      active: 14,
      expected: 3,
    },
    { name: 'Envoy: never below min_retry_concurrency (default 3) when idle', active: 0, expected: 3 },
    { name: 'Envoy: a large cluster gets a proportional budget', active: 1000, expected: 200 },
    {
      name: 'Envoy docs: 100 active requests at 25 % allow 25 retries',
      options: { budgetPercent: 25 },
      active: 100,
      expected: 25,
    },
    {
      name: 'Envoy: min_retry_concurrency raises a small share',
      options: { minRetryConcurrency: 10 },
      active: 20,
      expected: 10,
    },
    {
      name: 'Envoy: budget_percent 100 allows one retry per active request',
      options: { budgetPercent: 100 },
      active: 7,
      expected: 7,
    },
    {
      name: 'Envoy: a fractional budget_percent applies',
      options: { budgetPercent: 12.5 },
      active: 80,
      expected: 10,
    },
    {
      name: 'Envoy: budget 0 and floor 0 allow no retries',
      options: { budgetPercent: 0, minRetryConcurrency: 0 },
      active: 500,
      expected: 0,
    },
  ]
  for (const c of caps) {
    it(c.name, () => expect(createRetryBudget(c.options).maxActiveRetries(c.active)).toBe(c.expected))
  }

  const admits: { name: string; active: number; retries: number; expected: boolean }[] = [
    {
      name: 'Envoy: a retry is admitted while retries in flight are below the budget',
      active: 100,
      retries: 19,
      expected: true,
    },
    { name: 'Envoy: a retry overflows once the budget is used', active: 100, retries: 20, expected: false },
    { name: 'Envoy: the floor admits 3 retries with little traffic', active: 2, retries: 2, expected: true },
    {
      name: 'Envoy: the floor admits no 4th retry with little traffic',
      active: 2,
      retries: 3,
      expected: false,
    },
  ]
  for (const c of admits) {
    it(c.name, () => expect(createRetryBudget().canRetry(c.active, c.retries)).toBe(c.expected))
  }

  const invalid: { name: string; options: RetryBudgetOptions }[] = [
    { name: 'Istio: retryBudget.percent above 100 is refused', options: { budgetPercent: 101 } },
    { name: 'Istio: retryBudget.percent below 0 is refused', options: { budgetPercent: -1 } },
    { name: 'Istio: minRetryConcurrency is a whole number', options: { minRetryConcurrency: 1.5 } },
  ]
  for (const c of invalid) {
    it(c.name, () => expect(() => createRetryBudget(c.options)).toThrow(InvalidOptionError))
  }

  it('Weft: a budget reads as JSON for weft dump', () => {
    expect(JSON.parse(JSON.stringify(createRetryBudget()))).toEqual({
      budgetPercent: 20,
      minRetryConcurrency: 3,
    })
  })
})

describe('retry budget under a simulated outage', () => {
  for (const active of [1, 10, 50, 100, 1000]) {
    it(`Envoy retry_budget: with ${active} failing requests, retries admitted never exceed max(20 % × active, 3)`, () => {
      const budget = createRetryBudget()
      let inFlight = 0
      for (let r = 0; r < active; r++) if (budget.canRetry(active, inFlight)) inFlight++
      const cap = Math.max(Math.floor(0.2 * active), 3)
      expect(inFlight).toBeLessThanOrEqual(cap)
      expect(inFlight).toBe(Math.min(active, cap))
    })
  }

  it('Envoy retry_budget: over a seeded outage with arrivals and completions, no admission exceeds the cap', () => {
    const budget = createRetryBudget({ budgetPercent: 25, minRetryConcurrency: 2 })
    const random = mulberry32(99)
    let requests = 0
    let retries = 0
    let admitted = 0
    let refused = 0
    for (let step = 0; step < 50_000; step++) {
      const r = random()
      if (r < 0.4) {
        requests++
      } else if (r < 0.55 && requests > retries) {
        requests--
      } else if (r < 0.6 && retries > 0) {
        retries--
        requests--
      } else if (requests > 0) {
        // Every request fails (the outage) and asks for a retry; a retry is itself a request.
        if (budget.canRetry(requests, retries)) {
          expect(retries + 1).toBeLessThanOrEqual(Math.max(Math.floor(0.25 * requests), 2))
          retries++
          requests++
          admitted++
        } else {
          refused++
        }
      }
    }
    expect(admitted).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
  })
})
