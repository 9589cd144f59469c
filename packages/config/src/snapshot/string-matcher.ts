import { compileRe2 } from './re2.js'

export type StringMatchKind = 'exact' | 'prefix' | 'regex' | 'present'

/** One compiled Istio `StringMatch`. Regexes are RE2 and match the whole value, as Envoy's safe_regex. */
export interface StringMatcher {
  readonly kind: StringMatchKind
  readonly value: string
  readonly ignoreCase: boolean
  test(input: string): boolean
  toString(): string
}

export function compileStringMatch(
  match: { exact?: string; prefix?: string; regex?: string } | undefined,
  ignoreCase = false,
): StringMatcher {
  if (match?.exact !== undefined) return exact(match.exact, ignoreCase)
  if (match?.prefix !== undefined) return prefix(match.prefix, ignoreCase)
  if (match?.regex !== undefined) return regex(match.regex, ignoreCase)
  return PRESENT
}

function exact(value: string, ignoreCase: boolean): StringMatcher {
  const want = ignoreCase ? value.toLowerCase() : value
  return {
    kind: 'exact',
    value,
    ignoreCase,
    test: ignoreCase ? (s) => s.toLowerCase() === want : (s) => s === want,
    toString: () => `exact ${JSON.stringify(value)}`,
  }
}

function prefix(value: string, ignoreCase: boolean): StringMatcher {
  const want = ignoreCase ? value.toLowerCase() : value
  return {
    kind: 'prefix',
    value,
    ignoreCase,
    test: ignoreCase ? (s) => s.toLowerCase().startsWith(want) : (s) => s.startsWith(want),
    toString: () => `prefix ${JSON.stringify(value)}`,
  }
}

function regex(value: string, ignoreCase: boolean): StringMatcher {
  const re = compileRe2(value, ignoreCase)
  return {
    kind: 'regex',
    value,
    ignoreCase,
    test: (s) => re.matches(s),
    toString: () => `regex ${JSON.stringify(value)}`,
  }
}

const PRESENT: StringMatcher = Object.freeze({
  kind: 'present' as const,
  value: '',
  ignoreCase: false,
  test: () => true,
  toString: () => 'present',
})
