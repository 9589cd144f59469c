import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../test-support/seeded-random.js'
import {
  type NormalizedPath,
  normalizePath,
  type PathNormalization,
  type PathNormalizationOptions,
  type PathRefusal,
  pathNormalizationOptions,
} from './path-normalization.js'

type Expected = string | { path: string; query?: string; redirect?: boolean } | { refused: PathRefusal }

function expectation(expected: Expected): NormalizedPath {
  if (typeof expected === 'string') return { ok: true, path: expected, query: '', redirect: false }
  if ('refused' in expected) return { ok: false, reason: expected.refused }
  return { ok: true, path: expected.path, query: expected.query ?? '', redirect: expected.redirect ?? false }
}

const cases: { name: string; mode: PathNormalization; input: string; expected: Expected }[] = [
  // BASE (Istio's default): Envoy's normalize_path.
  { name: 'Envoy: an already normal path is unchanged', mode: 'BASE', input: '/x/y/z', expected: '/x/y/z' },
  { name: 'RFC 3986: /a/b/../c is /a/c', mode: 'BASE', input: '/a/b/../c', expected: '/a/c' },
  { name: 'RFC 3986: /a/b/./c is /a/b/c', mode: 'BASE', input: '/a/b/./c', expected: '/a/b/c' },
  { name: 'Envoy: a relative path gains a leading slash', mode: 'BASE', input: 'a/b/../c', expected: '/a/c' },
  {
    name: 'Envoy: .. never climbs above the root',
    mode: 'BASE',
    input: '/a/b/../../../../c',
    expected: '/c',
  },
  { name: 'Envoy: /../a/b is /a/b', mode: 'BASE', input: '/../a/b', expected: '/a/b' },
  { name: 'Envoy: /./a/b is /a/b', mode: 'BASE', input: '/./a/b', expected: '/a/b' },
  { name: 'Envoy: a bare .. is /', mode: 'BASE', input: '..', expected: '/' },
  {
    name: 'RFC 3986: a trailing .. keeps the directory slash',
    mode: 'BASE',
    input: '/a/b/..',
    expected: '/a/',
  },
  { name: 'RFC 3986: a trailing . keeps the directory slash', mode: 'BASE', input: '/a/.', expected: '/a/' },
  {
    name: 'RFC 3986 §5.4 example: /a/b/c/./../../g is /a/g',
    mode: 'BASE',
    input: '/a/b/c/./../../g',
    expected: '/a/g',
  },
  {
    name: 'RFC 3986 §5.2.4 example: mid/content=5/../6',
    mode: 'BASE',
    input: 'mid/content=5/../6',
    expected: '/mid/6',
  },
  { name: 'Envoy: backslash is a slash: /a/..\\c is /c', mode: 'BASE', input: '/a/..\\c', expected: '/c' },
  { name: 'Istio BASE: \\da is /da', mode: 'BASE', input: '\\da', expected: '/da' },
  { name: 'Envoy: case is not normalised', mode: 'BASE', input: '/A/B/C', expected: '/A/B/C' },
  { name: 'Envoy: %2E%2E is a .. segment', mode: 'BASE', input: '/a/b/%2E%2E/c', expected: '/a/c' },
  {
    name: 'Envoy: %2e%2e (lower case) is a .. segment',
    mode: 'BASE',
    input: '/a/b/%2e%2e/c',
    expected: '/a/c',
  },
  { name: 'Envoy: %2E. mixes into a .. segment', mode: 'BASE', input: '/a/b/%2E./c', expected: '/a/c' },
  { name: 'Envoy: .%2e mixes into a .. segment', mode: 'BASE', input: '/.%2e/x', expected: '/x' },
  { name: 'Envoy: %2E alone is a . segment', mode: 'BASE', input: '/a/b/%2E/c', expected: '/a/b/c' },
  {
    name: 'Hostile: %2e%2e traversal to /etc/passwd is resolved',
    mode: 'BASE',
    input: '/%2e%2e/%2e%2e/etc/passwd',
    expected: '/etc/passwd',
  },
  {
    name: 'Envoy BASE: %2F and %2f are kept as written',
    mode: 'BASE',
    input: '/a/%2F%2f/c',
    expected: '/a/%2F%2f/c',
  },
  {
    name: 'Hostile: ..%2F is no segment separator in BASE',
    mode: 'BASE',
    input: '/..%2F..%2Fetc/passwd',
    expected: '/..%2F..%2Fetc/passwd',
  },
  { name: 'Envoy BASE: %5c and %25 are kept', mode: 'BASE', input: '/%5c%25', expected: '/%5c%25' },
  {
    name: 'Envoy: an overlong UTF-8 slash (%c0%af) is kept, not decoded',
    mode: 'BASE',
    input: '/%c0%af',
    expected: '/%c0%af',
  },
  {
    name: 'Istio: %61%62%63 is decoded to abc',
    mode: 'BASE',
    input: '/some/%61%62%63',
    expected: '/some/abc',
  },
  { name: 'Istio: %41-%5A decode to upper-case letters', mode: 'BASE', input: '/%41%5A', expected: '/AZ' },
  { name: 'Istio: %30-%39 decode to digits', mode: 'BASE', input: '/v%31', expected: '/v1' },
  { name: 'Istio: %2d %5f %7e decode to - _ ~', mode: 'BASE', input: '/%2d%5f%7e', expected: '/-_~' },
  {
    name: 'Istio: no double decoding: %252e stays %252e',
    mode: 'BASE',
    input: '/a/%252e%252e/b',
    expected: '/a/%252e%252e/b',
  },
  { name: 'Envoy: a reserved escape (%3F) is kept', mode: 'BASE', input: '/a%3Fb', expected: '/a%3Fb' },
  { name: 'Envoy: an escaped # (%23) is kept', mode: 'BASE', input: '/a%23b', expected: '/a%23b' },
  {
    name: 'Envoy: ..; is an ordinary segment, not a parent',
    mode: 'BASE',
    input: '/a/..;/b',
    expected: '/a/..;/b',
  },
  { name: 'Istio BASE: double slashes are kept', mode: 'BASE', input: '/a//b', expected: '/a//b' },
  { name: 'Envoy: " is percent-encoded', mode: 'BASE', input: '/a"b', expected: '/a%22b' },
  { name: 'Envoy: { and } are percent-encoded', mode: 'BASE', input: '/{id}', expected: '/%7Bid%7D' },
  { name: 'Envoy: < > and ` are percent-encoded', mode: 'BASE', input: '/<a>`', expected: '/%3Ca%3E%60' },
  { name: 'Envoy: an empty path is /', mode: 'BASE', input: '', expected: '/' },
  // Query and fragment.
  {
    name: 'Istio: the query is set aside; dots in it are not segments',
    mode: 'BASE',
    input: '/a/../b?x=../y',
    expected: { path: '/b', query: '?x=../y' },
  },
  {
    name: 'Envoy: a target that is only a query has path /',
    mode: 'BASE',
    input: '?x=1',
    expected: { path: '/', query: '?x=1' },
  },
  {
    name: 'Envoy: only the first ? starts the query',
    mode: 'BASE',
    input: '/a??b',
    expected: { path: '/a', query: '??b' },
  },
  {
    name: 'Envoy: a fragment is refused (http_reject_path_with_fragment)',
    mode: 'BASE',
    input: '/a#b',
    expected: { refused: 'fragment' },
  },
  {
    name: 'Envoy: a fragment after the query is refused too',
    mode: 'BASE',
    input: '/a?b#c',
    expected: { refused: 'fragment' },
  },
  {
    name: 'Hostile: a # hiding a traversal is refused',
    mode: 'BASE',
    input: '/public#/../admin',
    expected: { refused: 'fragment' },
  },
  // Refusals.
  {
    name: 'Istio: a raw NUL is always refused',
    mode: 'BASE',
    input: '/a\u0000b',
    expected: { refused: 'nul' },
  },
  { name: 'Istio: %00 is always refused (400)', mode: 'BASE', input: '/a%00b', expected: { refused: 'nul' } },
  {
    name: 'Envoy: /xyz/.%00../abc is refused',
    mode: 'BASE',
    input: '/xyz/.%00../abc',
    expected: { refused: 'nul' },
  },
  {
    name: 'Envoy: /xyz/AAAAA%%0000/abc is refused',
    mode: 'BASE',
    input: '/xyz/AAAAA%%0000/abc',
    expected: { refused: 'invalid-percent-encoding' },
  },
  {
    name: 'Weft: a % at the end is refused',
    mode: 'BASE',
    input: '/a%',
    expected: { refused: 'invalid-percent-encoding' },
  },
  {
    name: 'Weft: a % with one hex digit is refused',
    mode: 'BASE',
    input: '/a%2',
    expected: { refused: 'invalid-percent-encoding' },
  },
  {
    name: 'Weft: a % before ? with one hex digit is refused',
    mode: 'BASE',
    input: '/a%2?x',
    expected: { refused: 'invalid-percent-encoding' },
  },
  {
    name: 'Weft: %zz is refused',
    mode: 'BASE',
    input: '/a%zz',
    expected: { refused: 'invalid-percent-encoding' },
  },
  {
    name: 'Hostile: IIS %u002e is refused',
    mode: 'BASE',
    input: '/%u002e%u002e/x',
    expected: { refused: 'invalid-percent-encoding' },
  },
  {
    name: 'Envoy: a space in the path is refused',
    mode: 'BASE',
    input: '/a b',
    expected: { refused: 'invalid-character' },
  },
  {
    name: 'Envoy: a tab in the path is refused',
    mode: 'BASE',
    input: '/a\tb',
    expected: { refused: 'invalid-character' },
  },
  {
    name: 'Envoy: CR LF in the path is refused',
    mode: 'BASE',
    input: '/a\r\nb',
    expected: { refused: 'invalid-character' },
  },
  {
    name: 'Envoy: DEL in the path is refused',
    mode: 'BASE',
    input: '/a\u007fb',
    expected: { refused: 'invalid-character' },
  },
  {
    name: 'Weft: raw non-ASCII in the path is refused',
    mode: 'BASE',
    input: '/café',
    expected: { refused: 'invalid-character' },
  },
  {
    name: 'Envoy: a control character in the query is refused',
    mode: 'BASE',
    input: '/a?x=\u0001',
    expected: { refused: 'invalid-character' },
  },
  {
    name: 'Envoy: a NUL in the query is refused',
    mode: 'BASE',
    input: '/a?x=\u0000',
    expected: { refused: 'nul' },
  },
  // MERGE_SLASHES.
  { name: 'Istio MERGE_SLASHES: /a//b is /a/b', mode: 'MERGE_SLASHES', input: '/a//b', expected: '/a/b' },
  {
    name: 'Envoy merge_slashes: leading, inner and trailing runs merge',
    mode: 'MERGE_SLASHES',
    input: '//a///b//',
    expected: '/a/b/',
  },
  {
    name: 'Envoy merge_slashes: slashes in the query are kept',
    mode: 'MERGE_SLASHES',
    input: '/a//b?a=///c',
    expected: { path: '/a/b', query: '?a=///c' },
  },
  {
    name: 'Envoy: normalisation runs before merging',
    mode: 'MERGE_SLASHES',
    input: '/a//..//b',
    expected: '/a/b',
  },
  {
    name: 'Istio MERGE_SLASHES: backslashes become slashes, then merge',
    mode: 'MERGE_SLASHES',
    input: '\\\\a\\\\b',
    expected: '/a/b',
  },
  {
    name: 'Istio MERGE_SLASHES: %2F stays escaped',
    mode: 'MERGE_SLASHES',
    input: '/a%2F%2Fb',
    expected: '/a%2F%2Fb',
  },
  // DECODE_AND_MERGE_SLASHES.
  {
    name: 'Istio DECODE_AND_MERGE_SLASHES: /a%2fb is /a/b',
    mode: 'DECODE_AND_MERGE_SLASHES',
    input: '/a%2fb',
    expected: '/a/b',
  },
  {
    name: 'Envoy UNESCAPE_AND_FORWARD: /private/..%2Fpublic%5c%2e%2Fabc is /public/abc',
    mode: 'DECODE_AND_MERGE_SLASHES',
    input: '/private/..%2Fpublic%5c%2e%2Fabc',
    expected: '/public/abc',
  },
  {
    name: 'Istio DECODE_AND_MERGE_SLASHES: %5C decodes to a slash',
    mode: 'DECODE_AND_MERGE_SLASHES',
    input: '/a%5Cb',
    expected: '/a/b',
  },
  {
    name: 'Istio DECODE_AND_MERGE_SLASHES: decoded slashes merge',
    mode: 'DECODE_AND_MERGE_SLASHES',
    input: '/a%2F%2fb',
    expected: '/a/b',
  },
  {
    name: 'Hostile: encoded traversal is resolved after decoding',
    mode: 'DECODE_AND_MERGE_SLASHES',
    input: '/a/b%2F..%2F..%2Fadmin',
    expected: '/admin',
  },
  {
    name: 'Istio: no double decoding of %252F',
    mode: 'DECODE_AND_MERGE_SLASHES',
    input: '/a%252Fb',
    expected: '/a%252Fb',
  },
  // NONE.
  {
    name: 'Istio NONE: dot segments are forwarded as is',
    mode: 'NONE',
    input: '/a/../b',
    expected: '/a/../b',
  },
  { name: 'Istio NONE: double slashes are forwarded as is', mode: 'NONE', input: '/a//b', expected: '/a//b' },
  { name: 'Istio NONE: backslashes are forwarded as is', mode: 'NONE', input: '/a\\b', expected: '/a\\b' },
  { name: 'Istio NONE: escapes are forwarded as is', mode: 'NONE', input: '/%61%2F', expected: '/%61%2F' },
  { name: 'Istio NONE: no leading slash is added', mode: 'NONE', input: 'a/b', expected: 'a/b' },
  { name: 'Istio NONE: %00 is still refused', mode: 'NONE', input: '/a%00', expected: { refused: 'nul' } },
  {
    name: 'Istio NONE: a fragment is still refused',
    mode: 'NONE',
    input: '/a#x',
    expected: { refused: 'fragment' },
  },
  { name: 'Istio DEFAULT is BASE', mode: 'DEFAULT', input: '/a/./b/../c', expected: '/a/c' },
]

describe('path normalisation', () => {
  for (const c of cases) {
    it(c.name, () =>
      expect(normalizePath(c.input, pathNormalizationOptions(c.mode))).toEqual(expectation(c.expected)),
    )
  }

  const actions: { name: string; options: PathNormalizationOptions; input: string; expected: Expected }[] = [
    {
      name: 'Envoy REJECT_REQUEST: %2F is refused',
      options: { normalizePath: true, mergeSlashes: false, escapedSlashesAction: 'REJECT_REQUEST' },
      input: '/a%2Fb',
      expected: { refused: 'escaped-slash' },
    },
    {
      name: 'Envoy REJECT_REQUEST: mixed-case %2f is refused',
      options: { normalizePath: true, mergeSlashes: false, escapedSlashesAction: 'REJECT_REQUEST' },
      input: '/a%2fb',
      expected: { refused: 'escaped-slash' },
    },
    {
      name: 'Envoy REJECT_REQUEST: %5c is refused',
      options: { normalizePath: true, mergeSlashes: false, escapedSlashesAction: 'REJECT_REQUEST' },
      input: '/a%5cb',
      expected: { refused: 'escaped-slash' },
    },
    {
      name: 'Envoy REJECT_REQUEST: a path without escaped slashes passes',
      options: { normalizePath: true, mergeSlashes: false, escapedSlashesAction: 'REJECT_REQUEST' },
      input: '/a/%2e/b',
      expected: '/a/b',
    },
    {
      name: 'Envoy UNESCAPE_AND_REDIRECT: the client is redirected to the unescaped path',
      options: { normalizePath: true, mergeSlashes: true, escapedSlashesAction: 'UNESCAPE_AND_REDIRECT' },
      input: '/a%2F%2Fb?q',
      expected: { path: '/a/b', query: '?q', redirect: true },
    },
    {
      name: 'Envoy UNESCAPE_AND_REDIRECT: no escaped slash, no redirect',
      options: { normalizePath: true, mergeSlashes: true, escapedSlashesAction: 'UNESCAPE_AND_REDIRECT' },
      input: '/a//b',
      expected: '/a/b',
    },
    {
      name: 'Envoy: unescaping without normalize_path keeps a decoded backslash',
      options: { normalizePath: false, mergeSlashes: false, escapedSlashesAction: 'UNESCAPE_AND_FORWARD' },
      input: '/a%5Cb%2Fc',
      expected: '/a\\b/c',
    },
    {
      name: 'Envoy: merge_slashes works without normalize_path',
      options: { normalizePath: false, mergeSlashes: true, escapedSlashesAction: 'KEEP_UNCHANGED' },
      input: '/a//./b',
      expected: '/a/./b',
    },
    {
      name: 'Envoy: with the fragment rule off, the fragment is stripped before normalising',
      options: { ...pathNormalizationOptions('BASE'), stripFragment: true },
      input: '/a/../b#frag',
      expected: '/b',
    },
    {
      name: 'Envoy: a stripped fragment takes a ? inside it along',
      options: { ...pathNormalizationOptions('BASE'), stripFragment: true },
      input: '/a#b?c',
      expected: '/a',
    },
  ]
  for (const c of actions) {
    it(c.name, () => expect(normalizePath(c.input, c.options)).toEqual(expectation(c.expected)))
  }

  it('Istio: the modes map to Envoy settings as istiod sets them', () => {
    expect(pathNormalizationOptions()).toEqual(pathNormalizationOptions('BASE'))
    expect(pathNormalizationOptions('NONE')).toMatchObject({ normalizePath: false, mergeSlashes: false })
    expect(pathNormalizationOptions('MERGE_SLASHES')).toMatchObject({
      normalizePath: true,
      mergeSlashes: true,
    })
    expect(pathNormalizationOptions('DECODE_AND_MERGE_SLASHES')).toEqual({
      normalizePath: true,
      mergeSlashes: true,
      escapedSlashesAction: 'UNESCAPE_AND_FORWARD',
    })
  })
})

describe('path normalisation properties over seeded hostile paths', () => {
  const pieces = [
    'a',
    'b',
    '/',
    '//',
    '.',
    '..',
    '%2e',
    '%2E',
    '%2F',
    '%2f',
    '%5C',
    '%5c',
    '\\',
    '%41',
    '%25',
    ';',
    '~',
  ]
  const modes: PathNormalization[] = ['BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES']
  for (const mode of modes) {
    it(`Istio ${mode}: normalising twice changes nothing, and no dot segment or backslash survives`, () => {
      const options = pathNormalizationOptions(mode)
      const random = mulberry32(mode.length)
      for (let n = 0; n < 5000; n++) {
        let input = '/'
        const length = 1 + Math.floor(random() * 10)
        for (let i = 0; i < length; i++) input += pieces[Math.floor(random() * pieces.length)]
        const once = normalizePath(input, options)
        if (!once.ok) throw new Error(`refused ${JSON.stringify(input)}: ${once.reason}`)
        expect(normalizePath(once.path, options)).toEqual(once)
        expect(once.path).not.toMatch(/(^|\/)\.\.?(\/|$)|\\|%2e/i)
        if (mode !== 'BASE') expect(once.path).not.toContain('//')
        if (mode === 'DECODE_AND_MERGE_SLASHES') expect(once.path).not.toMatch(/%2f|%5c/i)
      }
    })
  }
})
