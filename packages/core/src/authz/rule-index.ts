import type { IndexPattern } from './authorization-matchers.js'
import type { CompiledRule, IndexAttribute } from './compiled-rule.js'
import type { RequestView } from './request-view.js'

/**
 * Walks candidate lists, each in ordinal order. Finding the first match stops a list at its
 * first match and skips whatever cannot beat the best found so far; finding all keeps going.
 * One scan is reused by every lookup of its index: lookups are synchronous.
 */
class Scan {
  view: RequestView | undefined
  best: CompiledRule | undefined
  found: CompiledRule[] | undefined
  collectAll = false

  visit(rules: readonly CompiledRule[]): void {
    const view = this.view as RequestView
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      if (this.collectAll) {
        if (!rule.matches(view)) continue
        if (this.found === undefined) this.found = [rule]
        else this.found.push(rule)
      } else {
        if (this.best !== undefined && rule.ordinal >= this.best.ordinal) return
        if (rule.matches(view)) {
          this.best = rule
          return
        }
      }
    }
  }
}

function pushOnce(rules: CompiledRule[], rule: CompiledRule): void {
  if (rules[rules.length - 1] !== rule) rules.push(rule)
}

const FNV_OFFSET = 0x811c9dc5 | 0
const FNV_PRIME = 0x01000193

/** FNV-1a over UTF-16 units. */
function extend(hash: number, unit: number): number {
  return Math.imul(hash ^ unit, FNV_PRIME)
}

/** Kept within V8's small integers, so that looking a key up allocates nothing. */
function bucketKey(hash: number): number {
  return hash & 0x3fffffff
}

/**
 * Prefixes (or suffixes) by a hash of their text, and the set of their lengths. A lookup
 * hashes the value once, a character at a time, and at each length some affix has, takes the
 * rules filed under that hash: the cost grows with the value's length, not with the number of
 * affixes. Hashes are not verified against the text: a collision only adds candidates, and
 * every candidate is evaluated in full.
 */
class AffixTable {
  readonly #fromEnd: boolean
  readonly #rules = new Map<number, CompiledRule[]>()
  #lengths = new Uint8Array(1)

  constructor(fromEnd: boolean) {
    this.#fromEnd = fromEnd
  }

  add(affix: string, rule: CompiledRule): void {
    let hash = FNV_OFFSET
    for (let n = 1; n <= affix.length; n++) {
      hash = extend(hash, affix.charCodeAt(this.#fromEnd ? affix.length - n : n - 1))
    }
    const key = bucketKey(hash)
    const rules = this.#rules.get(key) ?? []
    this.#rules.set(key, rules)
    pushOnce(rules, rule)
    if (affix.length >= this.#lengths.length) {
      const lengths = new Uint8Array(affix.length + 1)
      lengths.set(this.#lengths)
      this.#lengths = lengths
    }
    this.#lengths[affix.length] = 1
  }

  visit(value: string, scan: Scan): void {
    const lengths = this.#lengths
    const fromEnd = this.#fromEnd
    const last = Math.min(value.length, lengths.length - 1)
    let hash = FNV_OFFSET
    for (let n = 1; n <= last; n++) {
      hash = extend(hash, value.charCodeAt(fromEnd ? value.length - n : n - 1))
      if (lengths[n] !== 1) continue
      const rules = this.#rules.get(bucketKey(hash))
      if (rules !== undefined) scan.visit(rules)
    }
  }
}

/** Exact values in a Map, prefixes and suffixes in affix tables. */
class PatternIndex {
  readonly #exact = new Map<string, CompiledRule[]>()
  readonly #prefixes = new AffixTable(false)
  readonly #suffixes = new AffixTable(true)
  size = 0

  add(pattern: IndexPattern, rule: CompiledRule): void {
    this.size++
    if (pattern.kind === 'exact') {
      const rules = this.#exact.get(pattern.value) ?? []
      this.#exact.set(pattern.value, rules)
      pushOnce(rules, rule)
    } else {
      ;(pattern.kind === 'prefix' ? this.#prefixes : this.#suffixes).add(pattern.value, rule)
    }
  }

  visit(value: string | undefined, scan: Scan): void {
    if (value === undefined) return
    const exact = this.#exact.get(value)
    if (exact !== undefined) scan.visit(exact)
    this.#prefixes.visit(value, scan)
    this.#suffixes.visit(value, scan)
  }
}

/**
 * The rules of one action (or one CUSTOM provider) with an index that hands a request only
 * the rules that can match it: a rule whose every `to` entry lists `paths` (or `hosts`), or
 * whose every `from` entry lists `principals`, is filed under those patterns; any other rule is
 * a candidate for every request. Candidates are evaluated in the rules' order, so the index
 * changes what is evaluated, never the answer.
 */
export class RuleIndex {
  readonly size: number
  readonly #always: CompiledRule[] = []
  readonly #path = new PatternIndex()
  readonly #host = new PatternIndex()
  readonly #principal = new PatternIndex()
  readonly #scan = new Scan()

  constructor(rules: readonly CompiledRule[]) {
    const ordered = [...rules].sort((a, b) => a.ordinal - b.ordinal)
    this.size = ordered.length
    const byAttribute: Record<IndexAttribute, PatternIndex> = {
      path: this.#path,
      host: this.#host,
      principal: this.#principal,
    }
    for (const rule of ordered) {
      const by = rule.indexBy
      if (by === undefined || by.patterns.some((p) => p.kind !== 'exact' && p.value === '')) {
        this.#always.push(rule)
      } else {
        for (const pattern of by.patterns) byAttribute[by.attribute].add(pattern, rule)
      }
    }
  }

  /** The first matching rule in Envoy's order. */
  first(view: RequestView): CompiledRule | undefined {
    if (this.size === 0) return undefined
    const scan = this.#scan
    scan.collectAll = false
    scan.best = undefined
    this.#visit(view, scan)
    const best = scan.best
    scan.best = undefined
    return best
  }

  /** Every matching rule, in Envoy's order; allocates only when something matches. */
  all(view: RequestView): readonly CompiledRule[] {
    if (this.size === 0) return NONE
    const scan = this.#scan
    scan.collectAll = true
    scan.found = undefined
    this.#visit(view, scan)
    const found = scan.found as CompiledRule[] | undefined
    scan.found = undefined
    if (found === undefined) return NONE
    found.sort((a, b) => a.ordinal - b.ordinal)
    return found.filter((rule, i) => i === 0 || found[i - 1] !== rule)
  }

  #visit(view: RequestView, scan: Scan): void {
    scan.view = view
    scan.visit(this.#always)
    if (this.#path.size > 0) this.#path.visit(view.request.path, scan)
    if (this.#host.size > 0) this.#host.visit(view.hostLowerCase(), scan)
    if (this.#principal.size > 0) this.#principal.visit(view.request.source.principal, scan)
    scan.view = undefined
  }
}

const NONE: readonly CompiledRule[] = Object.freeze([])
