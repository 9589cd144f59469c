import { checkInteger, checkNumber } from '../option-checks.js'

export interface RetryBudgetOptions {
  /** Concurrent retries allowed, as a percentage of active requests. Envoy's default: 20. */
  readonly budgetPercent?: number
  /** Retries always allowed however few requests are active. Envoy's default: 3. */
  readonly minRetryConcurrency?: number
}

/**
 * Envoy's `retry_budget` (and Istio's `trafficPolicy.retryBudget`): retries in flight to a
 * cluster may not exceed `max(floor(budgetPercent% × active), minRetryConcurrency)`, so that
 * during an outage retries add at most a fixed share of load instead of multiplying it.
 */
export class RetryBudget {
  readonly budgetPercent: number
  readonly minRetryConcurrency: number

  constructor(options: RetryBudgetOptions = {}) {
    this.budgetPercent = checkNumber('budgetPercent', options.budgetPercent ?? 20, 0, 100)
    this.minRetryConcurrency = checkInteger('minRetryConcurrency', options.minRetryConcurrency ?? 3, 0)
  }

  /**
   * `activeRequests` counts requests in flight or pending to the cluster, retries included, as
   * Envoy's active and pending request counts do.
   */
  maxActiveRetries(activeRequests: number): number {
    return Math.max(Math.floor((this.budgetPercent / 100) * activeRequests), this.minRetryConcurrency)
  }

  /** Whether one more retry may start while `activeRetries` are in flight. */
  canRetry(activeRequests: number, activeRetries: number): boolean {
    return activeRetries < this.maxActiveRetries(activeRequests)
  }

  toJSON(): { budgetPercent: number; minRetryConcurrency: number } {
    return { budgetPercent: this.budgetPercent, minRetryConcurrency: this.minRetryConcurrency }
  }
}

export function createRetryBudget(options?: RetryBudgetOptions): RetryBudget {
  return new RetryBudget(options)
}
