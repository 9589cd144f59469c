import type { RateLimitPolicy } from '@weft/config'
import { parseDurationMs } from '@weft/config'
import { createTokenBucket, rateLimitHeaders, type TokenBucket } from '@weft/core'
import { compileRateLimitMatch, type RateLimitMatcher, type RateLimitRequest } from './rate-limit-match.js'

interface LimitRule {
  /** `RateLimitPolicy/ns/name#rule` (its `name`, else its index). */
  readonly key: string
  readonly matches: RateLimitMatcher
  readonly bucket: TokenBucket
}

/** What one policy says of one request. */
export type RateLimitDecision =
  | {
      readonly limited: false
      readonly rule: string | undefined
      readonly headers: Record<string, string> | undefined
    }
  | {
      readonly limited: true
      readonly rule: string
      readonly dryRun: boolean
      readonly status: number
      /** `Retry-After`, `x-ratelimit-*` and the policy's `response.headers`. */
      readonly headers: Record<string, string>
    }

const PASS: RateLimitDecision = Object.freeze({ limited: false, rule: undefined, headers: undefined })

/**
 * One RateLimitPolicy with its token buckets, one per rule, as Envoy's local rate limit keeps
 * them: per process, starting full. A request takes a token from the first rule it matches.
 */
export class RateLimiter {
  readonly policy: string
  readonly dryRun: boolean
  readonly #rules: readonly LimitRule[]
  readonly #status: number
  readonly #responseHeaders: Readonly<Record<string, string>>

  constructor(resource: RateLimitPolicy, nowMs: number) {
    const { namespace, name } = resource.metadata
    this.policy = `RateLimitPolicy/${namespace}/${name}`
    const spec = resource.spec
    this.dryRun = spec.mode === 'DRY_RUN'
    this.#status = spec.response?.status ?? 429
    this.#responseHeaders = Object.freeze({ ...(spec.response?.headers ?? {}) })
    this.#rules = spec.rules.map((rule, index) => ({
      key: `${this.policy}#${rule.name ?? index}`,
      matches: compileRateLimitMatch(rule.match),
      bucket: createTokenBucket(
        {
          maxTokens: rule.tokenBucket.maxTokens,
          tokensPerFill: rule.tokenBucket.tokensPerFill ?? 1,
          fillIntervalMs: parseDurationMs(rule.tokenBucket.fillInterval) ?? Number.NaN,
        },
        nowMs,
      ),
    }))
  }

  take(request: RateLimitRequest, nowMs: number): RateLimitDecision {
    for (const rule of this.#rules) {
      if (!rule.matches(request)) continue
      const taken = rule.bucket.take(nowMs)
      const headers = rateLimitHeaders({
        limit: rule.bucket.maxTokens,
        remaining: taken.remaining,
        resetMs: taken.resetMs,
      })
      if (taken.allowed) return { limited: false, rule: rule.key, headers }
      // Whole seconds, rounded up, never 0: a client told "retry after 0" retries at once.
      headers['retry-after'] = String(Math.max(1, Math.ceil(taken.retryAfterMs / 1000)))
      return {
        limited: true,
        rule: rule.key,
        dryRun: this.dryRun,
        status: this.#status,
        headers: { ...this.#responseHeaders, ...headers },
      }
    }
    return PASS
  }
}
