import { checkInteger, checkNumber, checkPositive } from '../option-checks.js'

/** Envoy's `TokenBucket`, as a RateLimitPolicy rule's `tokenBucket` compiles to. */
export interface TokenBucketOptions {
  /** Capacity, and the tokens the bucket starts with. */
  readonly maxTokens: number
  /** Tokens added at each fill. Default 1. */
  readonly tokensPerFill?: number
  readonly fillIntervalMs: number
}

export type TokenBucketDecision =
  | { readonly allowed: true; readonly remaining: number; readonly resetMs: number }
  | {
      readonly allowed: false
      readonly remaining: 0
      readonly retryAfterMs: number
      readonly resetMs: number
    }

/** What the `x-ratelimit-*` headers report. */
export interface TokenBucketState {
  readonly limit: number
  readonly remaining: number
  /** Time until the next fill. */
  readonly resetMs: number
}

/**
 * Envoy's local rate limit bucket: it starts full, and every `fillIntervalMs` from its creation
 * `tokensPerFill` tokens are added, never beyond `maxTokens`. Envoy adds them from a timer;
 * here the fills that fell due are added when the bucket is next asked, which gives the same
 * counts without a timer. Time that runs backwards is treated as standing still.
 */
export class TokenBucket {
  readonly maxTokens: number
  readonly tokensPerFill: number
  readonly fillIntervalMs: number
  #tokens: number
  #lastFillMs: number

  constructor(options: TokenBucketOptions, nowMs: number) {
    this.maxTokens = checkInteger('maxTokens', options.maxTokens, 0)
    this.tokensPerFill = checkInteger('tokensPerFill', options.tokensPerFill ?? 1, 1)
    this.fillIntervalMs = checkPositive('fillIntervalMs', options.fillIntervalMs)
    this.#tokens = this.maxTokens
    this.#lastFillMs = checkNumber('nowMs', nowMs, -Number.MAX_VALUE)
  }

  /** Takes one token if there is one. */
  take(nowMs: number): TokenBucketDecision {
    this.#refill(nowMs)
    const resetMs = this.#resetMs(nowMs)
    if (this.#tokens >= 1) {
      this.#tokens--
      return { allowed: true, remaining: this.#tokens, resetMs }
    }
    // A bucket of size 0 never admits; its next fill is as good an answer as any.
    return { allowed: false, remaining: 0, retryAfterMs: resetMs, resetMs }
  }

  state(nowMs: number): TokenBucketState {
    this.#refill(nowMs)
    return { limit: this.maxTokens, remaining: this.#tokens, resetMs: this.#resetMs(nowMs) }
  }

  #refill(nowMs: number): void {
    const elapsed = nowMs - this.#lastFillMs
    if (!(elapsed >= this.fillIntervalMs)) return
    const fills = Math.floor(elapsed / this.fillIntervalMs)
    this.#tokens = Math.min(this.maxTokens, this.#tokens + fills * this.tokensPerFill)
    this.#lastFillMs += fills * this.fillIntervalMs
  }

  #resetMs(nowMs: number): number {
    return Math.min(
      this.fillIntervalMs,
      this.#lastFillMs + this.fillIntervalMs - Math.max(nowMs, this.#lastFillMs),
    )
  }

  toJSON(): { maxTokens: number; tokensPerFill: number; fillIntervalMs: number; tokens: number } {
    return {
      maxTokens: this.maxTokens,
      tokensPerFill: this.tokensPerFill,
      fillIntervalMs: this.fillIntervalMs,
      tokens: this.#tokens,
    }
  }
}

export function createTokenBucket(options: TokenBucketOptions, nowMs: number): TokenBucket {
  return new TokenBucket(options, nowMs)
}

/**
 * The `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset` headers Envoy's local
 * rate limit sends (IETF draft 03): the bucket size, the tokens left, and whole seconds (rounded
 * up) until the next fill.
 */
export function rateLimitHeaders(state: TokenBucketState): Record<string, string> {
  return {
    'x-ratelimit-limit': String(state.limit),
    'x-ratelimit-remaining': String(state.remaining),
    'x-ratelimit-reset': String(Math.ceil(state.resetMs / 1000)),
  }
}
