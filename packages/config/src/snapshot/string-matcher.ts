import type { RE2JS } from 're2js'
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

type Test = (this: Matcher, input: string) => boolean

function exactTest(this: Matcher, s: string): boolean {
  return s === this.want
}
function exactIgnoreCaseTest(this: Matcher, s: string): boolean {
  return s.toLowerCase() === this.want
}
function prefixTest(this: Matcher, s: string): boolean {
  return s.startsWith(this.want)
}
function prefixIgnoreCaseTest(this: Matcher, s: string): boolean {
  return s.toLowerCase().startsWith(this.want)
}
function regexTest(this: Matcher, s: string): boolean {
  return (this.re as RE2JS).matches(s)
}
function presentTest(): boolean {
  return true
}

/**
 * Every kind is one class with the test as a field: matching reads one object shape whatever the
 * kind, and a matcher costs one object, not an object and its closures.
 */
class Matcher implements StringMatcher {
  readonly kind: StringMatchKind
  readonly value: string
  readonly ignoreCase: boolean
  readonly test: Test
  /** The value to compare with, lower-cased when case is ignored. */
  readonly want: string
  readonly re: RE2JS | undefined

  constructor(kind: StringMatchKind, value: string, ignoreCase: boolean, test: Test, re?: RE2JS) {
    this.kind = kind
    this.value = value
    this.ignoreCase = ignoreCase
    this.test = test
    this.want = ignoreCase ? value.toLowerCase() : value
    this.re = re
    Object.freeze(this)
  }

  toString(): string {
    return this.kind === 'present' ? 'present' : `${this.kind} ${JSON.stringify(this.value)}`
  }
}

export function compileStringMatch(
  match: { exact?: string; prefix?: string; regex?: string } | undefined,
  ignoreCase = false,
): StringMatcher {
  if (match?.exact !== undefined)
    return new Matcher('exact', match.exact, ignoreCase, ignoreCase ? exactIgnoreCaseTest : exactTest)
  if (match?.prefix !== undefined)
    return new Matcher('prefix', match.prefix, ignoreCase, ignoreCase ? prefixIgnoreCaseTest : prefixTest)
  if (match?.regex !== undefined)
    return new Matcher('regex', match.regex, ignoreCase, regexTest, compileRe2(match.regex, ignoreCase))
  return PRESENT
}

const PRESENT: StringMatcher = new Matcher('present', '', false, presentTest)
