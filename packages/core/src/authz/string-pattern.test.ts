import { describe, expect, it } from 'vitest'
import { asciiLowerCase, headerPattern, stringPattern } from './string-pattern.js'

const cases: {
  name: string
  flavour: typeof headerPattern
  pattern: string
  value: string | undefined
  matches: boolean
}[] = [
  { name: 'Istio: abc is exact', flavour: stringPattern, pattern: 'abc', value: 'abc', matches: true },
  {
    name: 'Istio: exact is not a prefix',
    flavour: stringPattern,
    pattern: 'abc',
    value: 'abcd',
    matches: false,
  },
  { name: 'Istio: abc* matches abc', flavour: stringPattern, pattern: 'abc*', value: 'abc', matches: true },
  { name: 'Istio: abc* matches abcd', flavour: stringPattern, pattern: 'abc*', value: 'abcd', matches: true },
  { name: 'Istio: *abc matches abc', flavour: stringPattern, pattern: '*abc', value: 'abc', matches: true },
  { name: 'Istio: *abc matches xabc', flavour: stringPattern, pattern: '*abc', value: 'xabc', matches: true },
  {
    name: 'Istio: *abc does not match abcx',
    flavour: stringPattern,
    pattern: '*abc',
    value: 'abcx',
    matches: false,
  },
  { name: 'Istio: ** is the suffix *', flavour: stringPattern, pattern: '**', value: 'a*', matches: true },
  {
    name: 'Istio: StringMatcher * is .+ (not empty)',
    flavour: stringPattern,
    pattern: '*',
    value: '',
    matches: false,
  },
  {
    name: 'Istio: StringMatcher * matches any non-empty value',
    flavour: stringPattern,
    pattern: '*',
    value: 'x',
    matches: true,
  },
  {
    name: 'RE2: . does not match a newline, so * misses a\\nb',
    flavour: stringPattern,
    pattern: '*',
    value: 'a\nb',
    matches: false,
  },
  {
    name: 'Envoy: HeaderMatcher * is presence, empty included',
    flavour: headerPattern,
    pattern: '*',
    value: '',
    matches: true,
  },
  {
    name: 'Envoy: an absent value matches no presence check',
    flavour: headerPattern,
    pattern: '*',
    value: undefined,
    matches: false,
  },
  {
    name: 'Envoy: an absent value matches no exact pattern',
    flavour: headerPattern,
    pattern: 'x',
    value: undefined,
    matches: false,
  },
  {
    name: 'Envoy: matching is case-sensitive',
    flavour: headerPattern,
    pattern: 'GET',
    value: 'get',
    matches: false,
  },
]

describe('string patterns', () => {
  it.each(cases)('$name', ({ flavour, pattern, value, matches }) => {
    expect(flavour(pattern).test(value)).toBe(matches)
  })

  it('Weft: patterns describe themselves', () => {
    expect(['a', 'a*', '*a', '*'].map((p) => String(stringPattern(p)))).toEqual([
      'exact "a"',
      'prefix "a"',
      'suffix "a"',
      'non-empty',
    ])
    expect(String(headerPattern('*'))).toBe('present')
  })

  it('Envoy ignore_case: ASCII letters only', () => {
    expect(asciiLowerCase('HttpBin.FOO')).toBe('httpbin.foo')
    expect(asciiLowerCase('İSTANBUL')).toBe('İstanbul')
  })

  it('Weft: a lower-case string is returned as is', () => {
    const text = 'already.lower'
    expect(asciiLowerCase(text)).toBe(text)
  })
})
