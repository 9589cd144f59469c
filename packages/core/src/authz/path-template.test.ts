import { describe, expect, it } from 'vitest'
import { compilePathTemplate, isPathTemplate } from './path-template.js'

// Istio's integration test (tests/integration/security/authz_test.go, TestAuthz_PathTemplating)
// and the examples of the Operation.paths field in istio/api.
const cases: { name: string; template: string; path: string; matches: boolean }[] = [
  {
    name: 'Istio: /allow/admin/{**} matches /allow/admin/',
    template: '/allow/admin/{**}',
    path: '/allow/admin/',
    matches: true,
  },
  {
    name: 'Istio: /allow/admin/{**} needs the trailing slash (/allow/admin)',
    template: '/allow/admin/{**}',
    path: '/allow/admin',
    matches: false,
  },
  {
    name: 'Istio: /allow/admin/{**} does not match /allow/user/',
    template: '/allow/admin/{**}',
    path: '/allow/user/',
    matches: false,
  },
  {
    name: 'Istio: /allow/admin/{**} does not match /allow',
    template: '/allow/admin/{**}',
    path: '/allow',
    matches: false,
  },
  {
    name: 'Istio: /allow/admin/{**} matches /allow/admin/temp',
    template: '/allow/admin/{**}',
    path: '/allow/admin/temp',
    matches: true,
  },
  {
    name: 'Istio: /allow/admin/{**} matches /allow/admin/temp.txt',
    template: '/allow/admin/{**}',
    path: '/allow/admin/temp.txt',
    matches: true,
  },
  {
    name: 'Istio: /allow/admin/{**} matches /allow/admin/foo/temp.txt',
    template: '/allow/admin/{**}',
    path: '/allow/admin/foo/temp.txt',
    matches: true,
  },
  {
    name: 'Istio: /foo/{*}/bar/{**} matches /foo/buzz/bar/bat.txt',
    template: '/foo/{*}/bar/{**}',
    path: '/foo/buzz/bar/bat.txt',
    matches: true,
  },
  {
    name: 'Istio: /foo/{*}/bar/{**} matches /foo/buzz/bar/bat/fuzz.txt',
    template: '/foo/{*}/bar/{**}',
    path: '/foo/buzz/bar/bat/fuzz.txt',
    matches: true,
  },
  {
    name: 'Istio: /foo/{*}/bar/{**} does not match /foo/bar/bat.txt',
    template: '/foo/{*}/bar/{**}',
    path: '/foo/bar/bat.txt',
    matches: false,
  },
  {
    name: 'Istio: {*} is never empty (/foo//bar/bat.txt)',
    template: '/foo/{*}/bar/{**}',
    path: '/foo//bar/bat.txt',
    matches: false,
  },
  {
    name: 'Istio: /foo/{*}/bar/{**} matches /foo/buzz/bar/',
    template: '/foo/{*}/bar/{**}',
    path: '/foo/buzz/bar/',
    matches: true,
  },
  {
    name: 'Istio: {**} may be empty (/store//cart)',
    template: '/store/{**}/cart',
    path: '/store//cart',
    matches: true,
  },
  {
    name: 'Istio: /store/{**}/cart does not match /store/cart',
    template: '/store/{**}/cart',
    path: '/store/cart',
    matches: false,
  },
  {
    name: 'Istio: /store/{**}/cart matches /store/foo/bar/cart',
    template: '/store/{**}/cart',
    path: '/store/foo/bar/cart',
    matches: true,
  },
  { name: 'Istio: /foo/{*} matches /foo/bar', template: '/foo/{*}', path: '/foo/bar', matches: true },
  {
    name: 'Istio: /foo/{*} does not match /foo/bar/baz',
    template: '/foo/{*}',
    path: '/foo/bar/baz',
    matches: false,
  },
  { name: 'Istio: /foo/{**}/ matches /foo/bar/', template: '/foo/{**}/', path: '/foo/bar/', matches: true },
  { name: 'Istio: /foo/{**}/ matches /foo//', template: '/foo/{**}/', path: '/foo//', matches: true },
  {
    name: 'Istio: /foo/{**}/ does not match /foo/bar',
    template: '/foo/{**}/',
    path: '/foo/bar',
    matches: false,
  },
  {
    // istio/api's comment says it matches; Envoy's regex /foo/[pchar/]*/ needs the final slash.
    name: 'Envoy: /foo/{**}/ does not match /foo/bar/baz.txt',
    template: '/foo/{**}/',
    path: '/foo/bar/baz.txt',
    matches: false,
  },
  {
    name: 'Envoy: {*} stops at characters outside pchar (=)',
    template: '/k/{*}',
    path: '/k/a=b',
    matches: false,
  },
  { name: 'Envoy: {*} admits percent-encoded bytes', template: '/k/{*}', path: '/k/a%2Fb', matches: true },
  {
    name: 'Envoy: literal dots in a template are literal',
    template: '/v1.0/{*}',
    path: '/v1x0/a',
    matches: false,
  },
]

describe('path templates', () => {
  it.each(cases)('$name', ({ template, path, matches }) => {
    expect(compilePathTemplate(template)?.test(path)).toBe(matches)
  })

  it.each([
    ['/foo/{*}.txt', 'Istio: other characters beside {*} in a segment'],
    ['/{**}/foo/{*}', 'Istio: {**} is not the last operator'],
    ['/{**}/{**}', 'Istio: two {**}'],
    ['/foo/{*}/bar/*', 'Istio: a * outside an operator'],
    ['/foo/{buzz}/bar', 'Istio: a named variable'],
    ['/{*}/foo/{temp', 'Istio: an unmatched brace'],
    ['/{*}/foo/?abc', 'Istio: a literal that is not pchar'],
    ['/a//{*}', 'Envoy: an empty segment'],
    ['/a=b/{*}', 'Envoy: = is not in its literal set'],
    ['foo/{*}', 'Envoy: a template starts with /'],
  ])('%s is refused (%s)', (template) => {
    expect(compilePathTemplate(template)).toBeUndefined()
  })

  it('Istio: only {*} and {**} make a path a template', () => {
    expect([
      isPathTemplate('/a/{*}'),
      isPathTemplate('/a/{**}'),
      isPathTemplate('/a/*'),
      isPathTemplate('/a/{x}'),
    ]).toEqual([true, true, false, false])
  })

  it('Weft: the literal prefix is the text before the first operator', () => {
    expect(compilePathTemplate('/foo/{*}/bar/{**}')?.literalPrefix).toBe('/foo/')
    expect(compilePathTemplate('/{*}')?.literalPrefix).toBe('/')
  })
})
