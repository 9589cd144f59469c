/** What verifying one token under one rule produced, kept so that the next request skips the crypto. */
export interface VerifiedToken {
  /** `iss/sub`: Istio's request principal. */
  readonly principal: string
  /** The payload, with space-delimited claims split into lists, as authorization reads them. */
  readonly claims: Readonly<Record<string, unknown>>
  /** Headers the rule's `outputPayloadToHeader` and `outputClaimToHeaders` set. */
  readonly setHeaders: Readonly<Record<string, string>>
  /** When the token stops being valid (`exp`), in ms since the epoch; Infinity without `exp`. */
  readonly expiresAtMs: number
  /** The key set generation it was verified with. */
  readonly generation: number
}

/**
 * Tokens already verified, by token string, as Envoy's `jwt_cache`: a hit costs a map lookup
 * instead of a signature check. An entry is used only until the token's `exp` and only while
 * the key set it was verified with is current and fresh. Bounded: when full, the oldest entry
 * gives way.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, VerifiedToken>()
  readonly #capacity: number

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  get size(): number {
    return this.#entries.size
  }

  get(token: string, nowMs: number, generation: number): VerifiedToken | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    if (entry.expiresAtMs > nowMs && entry.generation === generation) return entry
    this.#entries.delete(token)
    return undefined
  }

  set(token: string, entry: VerifiedToken): void {
    if (this.#capacity <= 0) return
    if (this.#entries.size >= this.#capacity && !this.#entries.has(token)) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
    this.#entries.set(token, entry)
  }
}
