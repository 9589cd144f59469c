/**
 * Istio's string patterns (exact `abc`, prefix `abc*`, suffix `*abc`, presence `*`) as the
 * Envoy matchers Istio generates for them (pilot/pkg/security/authz/matcher). Two flavours differ
 * only in what `*` means:
 * - `HeaderMatcher`/`HostMatcher` (methods, hosts, headers): `*` is Envoy's `present_match`, so
 *   an empty value counts; peer principals too, as their `.+` runs over `spiffe://PRINCIPAL`;
 * - `StringMatcher` (paths, SNI, JWT claims): `*` is the RE2 regex `.+`, so the value must be
 *   non-empty, and RE2's `.` stops at a newline.
 * Both test `*` before the prefix and suffix forms, so `**` is the suffix `*`.
 */
export type PatternKind = 'exact' | 'prefix' | 'suffix' | 'present' | 'non-empty'

export interface StringPattern {
  readonly kind: PatternKind
  readonly value: string
  /** An absent value matches no pattern. */
  test(value: string | undefined): boolean
  toString(): string
}

class ExactPattern implements StringPattern {
  readonly kind = 'exact'
  constructor(readonly value: string) {}
  test(value: string | undefined): boolean {
    return value === this.value
  }
  toString(): string {
    return `exact ${JSON.stringify(this.value)}`
  }
}

class PrefixPattern implements StringPattern {
  readonly kind = 'prefix'
  constructor(readonly value: string) {}
  test(value: string | undefined): boolean {
    return value?.startsWith(this.value) === true
  }
  toString(): string {
    return `prefix ${JSON.stringify(this.value)}`
  }
}

class SuffixPattern implements StringPattern {
  readonly kind = 'suffix'
  constructor(readonly value: string) {}
  test(value: string | undefined): boolean {
    return value?.endsWith(this.value) === true
  }
  toString(): string {
    return `suffix ${JSON.stringify(this.value)}`
  }
}

const PRESENT: StringPattern = Object.freeze({
  kind: 'present' as const,
  value: '*',
  test: (value: string | undefined) => value !== undefined,
  toString: () => 'present',
})

/** The regex `.+` of `StringMatcher`; also what Istio requires of a JWT's `iss` and `sub` for `*`. */
export const NON_EMPTY: StringPattern = Object.freeze({
  kind: 'non-empty' as const,
  value: '*',
  test: (value: string | undefined) => value !== undefined && value !== '' && !value.includes('\n'),
  toString: () => 'non-empty',
})

export function exactPattern(value: string): StringPattern {
  return new ExactPattern(value)
}

export function prefixPattern(value: string): StringPattern {
  return new PrefixPattern(value)
}

export function suffixPattern(value: string): StringPattern {
  return new SuffixPattern(value)
}

function affixPattern(value: string): StringPattern {
  if (value.startsWith('*')) return new SuffixPattern(value.slice(1))
  if (value.endsWith('*')) return new PrefixPattern(value.slice(0, -1))
  return new ExactPattern(value)
}

/** Istio's `matcher.HeaderMatcher`: `*` is presence. */
export function headerPattern(value: string): StringPattern {
  return value === '*' ? PRESENT : affixPattern(value)
}

/** Istio's `matcher.StringMatcher`: `*` is the regex `.+`. */
export function stringPattern(value: string): StringPattern {
  return value === '*' ? NON_EMPTY : affixPattern(value)
}

/**
 * Envoy's `ignore_case` folds ASCII letters only (absl::EqualsIgnoreCase); `toLowerCase` would
 * also fold non-ASCII letters. Returns `text` itself when it has no upper-case ASCII letter.
 */
export function asciiLowerCase(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x41 && c <= 0x5a) return text.replace(/[A-Z]+/g, (run) => run.toLowerCase())
  }
  return text
}

/** `text` as a literal inside a regular expression. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
