import { describe, expect, it } from 'vitest'
import { compileUriRegexRewrite } from './uri-regex-rewrite.js'

describe('uriRegexRewrite (Envoy regex_rewrite: RE2 GlobalReplace with \\N groups)', () => {
  const cases: [match: string, rewrite: string, path: string, want: string, why: string][] = [
    [
      '^/service/([^/]+)(/.*)$',
      '\\2/instance/\\1',
      '/service/foo/v1/api',
      '/v1/api/instance/foo',
      "Envoy's documented example",
    ],
    ['one', 'two', '/xxx/one/yyy/one/zzz', '/xxx/two/yyy/two/zzz', 'every match is replaced'],
    ['^/api', '', '/api/items', '/items', 'an empty substitution strips'],
    ['x*', '-', 'abc', '-a-b-c-', 'empty matches do not stall the scan'],
    ['^/v([0-9])', '/version\\1\\\\', '/v2/x', '/version2\\/x', 'a doubled backslash is a literal one'],
    ['nomatch', 'y', '/path', '/path', 'no match leaves the path alone'],
  ]
  for (const [match, rewrite, path, want, why] of cases) {
    it(`${why}: ${path} → ${want}`, () =>
      expect(compileUriRegexRewrite(match, rewrite).apply(path)).toBe(want))
  }
})
