import { describe, expect, it } from 'vitest'
import { compileRateLimitMatch, type RateLimitRequest } from './rate-limit-match.js'

const request = (over: Partial<RateLimitRequest> = {}): RateLimitRequest => ({
  method: 'GET',
  path: '/ratings/1',
  headers: {},
  principal: undefined,
  ...over,
})

type Match = Parameters<typeof compileRateLimitMatch>[0]
const cases: readonly [string, Match, RateLimitRequest, boolean][] = [
  ['no match list matches everything', undefined, request(), true],
  ['empty match list matches everything', [], request(), true],
  ['exact path', [{ paths: ['/ratings/1'] }], request(), true],
  ['prefix path', [{ paths: ['/ratings/*'] }], request(), true],
  ['suffix path', [{ paths: ['*/1'] }], request(), true],
  ['* is any non-empty path', [{ paths: ['*'] }], request(), true],
  ['other path', [{ paths: ['/reviews*'] }], request(), false],
  ['notPaths excludes', [{ notPaths: ['/ratings/*'] }], request(), false],
  ['notPaths lets others through', [{ notPaths: ['/admin*'] }], request(), true],
  ['method listed', [{ methods: ['GET', 'HEAD'] }], request(), true],
  ['method not listed', [{ methods: ['POST'] }], request(), false],
  ['fields AND', [{ methods: ['GET'], paths: ['/reviews'] }], request(), false],
  ['entries OR', [{ methods: ['POST'] }, { paths: ['/ratings/*'] }], request(), true],
  [
    'header exact',
    [{ headers: { 'X-User': { exact: 'a' } } }],
    request({ headers: { 'x-user': 'a' } }),
    true,
  ],
  [
    'header exact, other value',
    [{ headers: { 'x-user': { exact: 'a' } } }],
    request({ headers: { 'x-user': 'b' } }),
    false,
  ],
  [
    'header prefix',
    [{ headers: { 'x-user': { prefix: 'ad' } } }],
    request({ headers: { 'x-user': 'admin' } }),
    true,
  ],
  [
    'header regex is whole-value',
    [{ headers: { 'x-user': { regex: 'a.' } } }],
    request({ headers: { 'x-user': 'abc' } }),
    false,
  ],
  [
    'header regex',
    [{ headers: { 'x-user': { regex: 'a.c' } } }],
    request({ headers: { 'x-user': 'abc' } }),
    true,
  ],
  ['header presence', [{ headers: { 'x-user': {} } }], request({ headers: { 'x-user': '' } }), true],
  ['header absent', [{ headers: { 'x-user': {} } }], request(), false],
  [
    'repeated header joined',
    [{ headers: { 'x-user': { exact: 'a,b' } } }],
    request({ headers: { 'x-user': ['a', 'b'] } }),
    true,
  ],
  [
    'source principal',
    [{ sourcePrincipals: ['cluster.local/ns/default/sa/*'] }],
    request({ principal: 'cluster.local/ns/default/sa/web' }),
    true,
  ],
  ['plaintext peer has no principal', [{ sourcePrincipals: ['*'] }], request(), false],
  [
    'source namespace',
    [{ sourceNamespaces: ['default'] }],
    request({ principal: 'cluster.local/ns/default/sa/web' }),
    true,
  ],
  [
    'other namespace',
    [{ sourceNamespaces: ['prod'] }],
    request({ principal: 'cluster.local/ns/default/sa/web' }),
    false,
  ],
]

describe('compileRateLimitMatch', () => {
  it.each(cases)('%s', (_name, match, req, expected) => {
    expect(compileRateLimitMatch(match)(req)).toBe(expected)
  })
})
