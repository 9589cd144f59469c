/**
 * Entries by host: exact names in a map, wildcard names (`*.example.com`, `*`) in a list
 * ordered most specific first, as Istio picks the longest matching wildcard. Built once per
 * snapshot; a lookup is one map probe, then (rarely) a walk of the wildcards.
 */
export class HostIndex<T> {
  readonly #exact = new Map<string, T[]>()
  readonly #wildcards: { suffix: string; entries: T[] }[] = []

  constructor(entries: readonly (readonly [host: string, value: T])[]) {
    const wild = new Map<string, T[]>()
    // Indexed loops: built on every config change, by every SDK instance (see the Snapshot constructor).
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as readonly [host: string, value: T]
      const host = entry[0]
      const value = entry[1]
      const target = host.startsWith('*') ? wild : this.#exact
      const list = target.get(host)
      if (list) list.push(value)
      else target.set(host, [value])
    }
    wild.forEach((list, host) => {
      this.#wildcards.push({ suffix: host.slice(1), entries: list })
    })
    this.#wildcards.sort((a, b) => b.suffix.length - a.suffix.length)
  }

  /** Every entry for `host`: the exact ones if any, else the most specific wildcard's. */
  lookup(host: string): readonly T[] {
    const exact = this.#exact.get(host)
    if (exact) return exact
    for (const w of this.#wildcards) {
      if (host.length > w.suffix.length && host.endsWith(w.suffix)) return w.entries
    }
    return EMPTY as readonly T[]
  }

  hosts(): string[] {
    return [...this.#exact.keys(), ...this.#wildcards.map((w) => `*${w.suffix}`)]
  }

  get size(): number {
    return this.#exact.size + this.#wildcards.length
  }
}

const EMPTY: readonly never[] = Object.freeze([])
