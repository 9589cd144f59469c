import { describe, expect, it } from 'vitest'
import {
  type AttributeMatcher,
  namespaceMatcher,
  pathMatcher,
  portMatcher,
  requestPrincipalMatcher,
  serviceAccountMatcher,
  trustDomainMatcher,
  Unevaluable,
} from './authorization-matchers.js'
import type { AuthorizationRequest } from './authorization-request.js'
import { RequestView } from './request-view.js'

function view(patch: { principal?: string; claims?: Record<string, unknown> }): RequestView {
  const request: AuthorizationRequest = {
    method: 'GET',
    path: '/',
    headers: {},
    source: patch.principal === undefined ? {} : { principal: patch.principal },
    destination: { port: 80 },
    ...(patch.claims ? { auth: { claims: patch.claims } } : {}),
  }
  const v = new RequestView()
  v.reset(request)
  return v
}

// Istio's requestPrincipalGenerator splits at the last '/', then widens one side per '*'.
const requestPrincipals: { name: string; value: string; iss: string; sub: string; matches: boolean }[] = [
  { name: 'Istio: iss/sub exact', value: 'iss/sub', iss: 'iss', sub: 'sub', matches: true },
  { name: 'Istio: * needs both claims non-empty', value: '*', iss: 'iss', sub: '', matches: false },
  { name: 'Istio: */sub is any issuer', value: '*/sub', iss: 'anything', sub: 'sub', matches: true },
  {
    name: 'Istio: *.example.com/sub is an issuer suffix',
    value: '*.example.com/sub',
    iss: 'a.example.com',
    sub: 'sub',
    matches: true,
  },
  {
    name: 'Istio: *.example.com/sub keeps sub exact',
    value: '*.example.com/sub',
    iss: 'a.example.com',
    sub: 'subx',
    matches: false,
  },
  {
    name: 'Istio: iss/* is any subject',
    value: 'https://a.example.com/*',
    iss: 'https://a.example.com',
    sub: 'x',
    matches: true,
  },
  {
    name: 'Istio: iss/pre* is a subject prefix',
    value: 'iss/user-*',
    iss: 'iss',
    sub: 'user-7',
    matches: true,
  },
  {
    name: 'Istio: iss/pre* keeps iss exact',
    value: 'iss/user-*',
    iss: 'iss2',
    sub: 'user-7',
    matches: false,
  },
  {
    name: 'Istio: *suffix without / is a subject suffix',
    value: '*@example.com',
    iss: 'i',
    sub: 'bob@example.com',
    matches: true,
  },
  {
    name: 'Istio: prefix* without / is an issuer prefix',
    value: 'issuer-*',
    iss: 'issuer-2',
    sub: 's',
    matches: true,
  },
  { name: 'Istio: a value without / needs an empty sub', value: 'iss', iss: 'iss', sub: 'x', matches: false },
  {
    name: 'Istio: a * prefix on a value with / widens only the issuer (sub stays exact, * included)',
    value: '*/user-*',
    iss: 'i',
    sub: 'user-1',
    matches: false,
  },
]

describe('request principals', () => {
  it.each(requestPrincipals)('$name', ({ value, iss, sub, matches }) => {
    expect(requestPrincipalMatcher(value).matches(view({ claims: { iss, sub } }))).toBe(matches)
  })

  it('Envoy: iss and sub must be strings, not lists', () => {
    expect(requestPrincipalMatcher('*').matches(view({ claims: { iss: ['i'], sub: 's' } }))).toBe(false)
  })
})

const principals: {
  name: string
  matcher: AttributeMatcher
  principal: string | undefined
  matches: boolean
}[] = [
  {
    name: 'Istio: namespaces find /ns/NS/ right after spiffe:// too',
    matcher: namespaceMatcher('foo'),
    principal: 'ns/foo/sa/x',
    matches: true,
  },
  {
    name: 'Istio: namespace wildcard can span more text (.*)',
    matcher: namespaceMatcher('team-*'),
    principal: 'td/ns/team-a/sa/x',
    matches: true,
  },
  {
    name: 'Istio: namespace wildcard still needs /ns/',
    matcher: namespaceMatcher('*'),
    principal: 'td/workload/x',
    matches: false,
  },
  {
    name: 'Istio: namespace regex metacharacters are literal',
    matcher: namespaceMatcher('a.b*'),
    principal: 'td/ns/axb/sa/x',
    matches: false,
  },
  {
    name: 'Istio: serviceAccounts NS/SA with the trust domain anywhere',
    matcher: serviceAccountMatcher('ignored', 'bar/api'),
    principal: 'my.domain/ns/bar/sa/api',
    matches: true,
  },
  {
    name: 'Istio: serviceAccounts allow segments between ns and sa',
    matcher: serviceAccountMatcher('foo', 'api'),
    principal: 'td/ns/foo/cluster/c1/sa/api',
    matches: true,
  },
  {
    name: 'Istio: serviceAccounts need a trust domain before /ns/',
    matcher: serviceAccountMatcher('foo', 'api'),
    principal: '/ns/foo/sa/api',
    matches: false,
  },
  {
    name: 'Istio: serviceAccounts need a peer identity',
    matcher: serviceAccountMatcher('foo', 'api'),
    principal: undefined,
    matches: false,
  },
  {
    name: 'Istio: trustDomains exact needs the whole trust domain',
    matcher: trustDomainMatcher('cluster.local'),
    principal: 'cluster.localx/ns/a/sa/b',
    matches: false,
  },
  {
    name: 'Istio: trustDomains wildcard inside the name',
    matcher: trustDomainMatcher('prod-*.corp'),
    principal: 'prod-eu.corp/ns/a/sa/b',
    matches: true,
  },
]

describe('peer identity', () => {
  it.each(principals)('$name', ({ matcher, principal, matches }) => {
    expect(matcher.matches(view(principal === undefined ? {} : { principal }))).toBe(matches)
  })
})

describe('values Weft cannot use', () => {
  it.each([
    ['65536', 'Istio convertToPort: above 65535'],
    ['-1', 'Istio convertToPort: negative'],
    ['80a', 'Istio convertToPort: not decimal'],
  ])('port %j is unevaluable (%s)', (value) => {
    expect(portMatcher(value)).toBeInstanceOf(Unevaluable)
  })

  it('Istio convertToPort: leading zeros are a decimal port', () => {
    expect(String(portMatcher('0080'))).toBe('port 80')
  })

  it('Istio: a path with a bad template is unevaluable, a literal * is not', () => {
    expect(pathMatcher('/a/{*}x')).toBeInstanceOf(Unevaluable)
    expect(String(pathMatcher('/a/*/b'))).toBe('path exact "/a/*/b"')
  })
})
