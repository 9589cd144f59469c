import type { AuthorizationPolicy } from '@weft/config'
import { describe, expect, it } from 'vitest'
import type { AuthorizationDecision } from './authorization-decision.js'
import type { AuthorizationRequest } from './authorization-request.js'
import { compileAuthorization } from './compile-authorization.js'

type Spec = AuthorizationPolicy['spec']
type Rule = NonNullable<Spec['rules']>[number]

function policy(
  name: string,
  spec: Spec,
  { namespace = 'foo', annotations }: { namespace?: string; annotations?: Record<string, string> } = {},
): AuthorizationPolicy {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'AuthorizationPolicy',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec,
  }
}

/** Changes to the base request; `null` removes an attribute. */
interface RequestPatch {
  method?: string
  path?: string
  query?: string
  host?: string | null
  headers?: AuthorizationRequest['headers']
  principal?: string | null
  ip?: string | null
  remoteIp?: string
  destinationIp?: string
  port?: number
  claims?: Record<string, unknown>
  sni?: string
}

const JWT = { iss: 'https://issuer.example.com', sub: 'alice', aud: 'bookinfo', azp: 'web' }

function request(patch: RequestPatch = {}): AuthorizationRequest {
  const principal = patch.principal === undefined ? 'cluster.local/ns/foo/sa/sleep' : patch.principal
  const ip = patch.ip === undefined ? '10.0.0.1' : patch.ip
  const host = patch.host === undefined ? 'httpbin.foo' : patch.host
  return {
    method: patch.method ?? 'GET',
    path: patch.path ?? '/info',
    ...(patch.query ? { query: patch.query } : {}),
    ...(host === null ? {} : { host }),
    headers: patch.headers ?? {},
    source: {
      ...(principal === null ? {} : { principal }),
      ...(ip === null ? {} : { ip }),
      ...(patch.remoteIp ? { remoteIp: patch.remoteIp } : {}),
    },
    destination: { ip: patch.destinationIp ?? '10.0.1.1', port: patch.port ?? 8000 },
    ...(patch.claims ? { auth: { claims: patch.claims } } : {}),
    ...(patch.sni ? { sni: patch.sni } : {}),
  }
}

function decide(policies: AuthorizationPolicy[], patch?: RequestPatch): AuthorizationDecision {
  return compileAuthorization(policies).decide(request(patch))
}

/**
 * Whether one rule matches one request. Each case runs twice: in an ALLOW policy (a match
 * allows, else no ALLOW policy matched) and in a DENY policy (a match denies, else allowed).
 */
const matching: { name: string; rule: Rule; request?: RequestPatch; matches: boolean }[] = [
  // Rule structure
  { name: 'Istio: a rule with no from, to or when matches everything', rule: {}, matches: true },
  {
    name: 'Istio: from entries are ORed (second entry matches)',
    rule: { from: [{ source: { namespaces: ['bar'] } }, { source: { namespaces: ['foo'] } }] },
    matches: true,
  },
  {
    name: 'Istio: fields inside one source are ANDed (namespace matches, ipBlocks does not)',
    rule: { from: [{ source: { namespaces: ['foo'], ipBlocks: ['192.168.0.0/16'] } }] },
    matches: false,
  },
  {
    name: 'Istio: values within one field are ORed',
    rule: { from: [{ source: { namespaces: ['bar', 'baz', 'foo'] } }] },
    matches: true,
  },
  {
    name: 'Istio: to entries are ORed (second operation matches)',
    rule: { to: [{ operation: { methods: ['POST'] } }, { operation: { paths: ['/info'] } }] },
    matches: true,
  },
  {
    name: 'Istio: fields inside one operation are ANDed (path matches, method does not)',
    rule: { to: [{ operation: { paths: ['/info'], methods: ['POST'] } }] },
    matches: false,
  },
  {
    name: 'Istio: a rule is from AND to (from matches, to does not)',
    rule: { from: [{ source: { namespaces: ['foo'] } }], to: [{ operation: { paths: ['/admin'] } }] },
    matches: false,
  },
  {
    name: 'Istio: a rule is from AND to AND when (when fails)',
    rule: {
      from: [{ source: { namespaces: ['foo'] } }],
      to: [{ operation: { paths: ['/info'] } }],
      when: [{ key: 'request.headers[x-user]', values: ['admin'] }],
    },
    matches: false,
  },
  {
    name: 'Istio: every when condition must hold',
    rule: {
      when: [
        { key: 'request.headers[x-user]', values: ['admin'] },
        { key: 'source.namespace', values: ['foo'] },
      ],
    },
    request: { headers: { 'x-user': 'admin' } },
    matches: true,
  },
  {
    name: 'Istio: a when condition with values and notValues needs both',
    rule: { when: [{ key: 'request.headers[x-user]', values: ['a*'], notValues: ['admin'] }] },
    request: { headers: { 'x-user': 'admin' } },
    matches: false,
  },
  {
    name: 'Istio: a field and its not-field are ANDed',
    rule: { to: [{ operation: { paths: ['/api/*'], notPaths: ['/api/private'] } }] },
    request: { path: '/api/public' },
    matches: true,
  },

  // principals
  {
    name: 'Istio: principals exact match',
    rule: { from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }] },
    matches: true,
  },
  {
    name: 'Istio: principals exact mismatch',
    rule: { from: [{ source: { principals: ['cluster.local/ns/foo/sa/other'] } }] },
    matches: false,
  },
  {
    name: 'Istio: principals prefix match (cluster.local/ns/foo/*)',
    rule: { from: [{ source: { principals: ['cluster.local/ns/foo/*'] } }] },
    matches: true,
  },
  {
    name: 'Istio: principals suffix match (*/sa/sleep)',
    rule: { from: [{ source: { principals: ['*/sa/sleep'] } }] },
    matches: true,
  },
  {
    name: 'Istio: principals * matches any authenticated peer',
    rule: { from: [{ source: { principals: ['*'] } }] },
    matches: true,
  },
  {
    name: 'Istio: principals * does not match a plaintext peer',
    rule: { from: [{ source: { principals: ['*'] } }] },
    request: { principal: null },
    matches: false,
  },
  {
    name: 'Istio: notPrincipals * matches only plaintext peers',
    rule: { from: [{ source: { notPrincipals: ['*'] } }] },
    request: { principal: null },
    matches: true,
  },
  {
    name: 'Istio: notPrincipals excludes the listed identity',
    rule: { from: [{ source: { notPrincipals: ['cluster.local/ns/foo/sa/sleep'] } }] },
    matches: false,
  },
  {
    name: 'Istio: principals are compared without spiffe://',
    rule: { from: [{ source: { principals: ['spiffe://cluster.local/ns/foo/sa/sleep'] } }] },
    matches: false,
  },

  // namespaces
  {
    name: 'Istio: namespaces read the peer certificate (/ns/foo/)',
    rule: { from: [{ source: { namespaces: ['foo'] } }] },
    matches: true,
  },
  {
    name: 'Istio: namespaces mismatch',
    rule: { from: [{ source: { namespaces: ['bar'] } }] },
    matches: false,
  },
  {
    name: 'Istio: namespaces require mTLS: a plaintext peer has none',
    rule: { from: [{ source: { namespaces: ['foo'] } }] },
    request: { principal: null },
    matches: false,
  },
  {
    name: 'Istio: namespaces prefix (fo*)',
    rule: { from: [{ source: { namespaces: ['fo*'] } }] },
    matches: true,
  },
  {
    name: 'Istio: namespaces suffix (*-prod)',
    rule: { from: [{ source: { namespaces: ['*-prod'] } }] },
    request: { principal: 'cluster.local/ns/team-prod/sa/api' },
    matches: true,
  },
  {
    name: 'Istio: namespaces exact is not a prefix (foo does not match foobar)',
    rule: { from: [{ source: { namespaces: ['foo'] } }] },
    request: { principal: 'cluster.local/ns/foobar/sa/sleep' },
    matches: false,
  },
  {
    name: 'Istio: notNamespaces matches a plaintext peer',
    rule: { from: [{ source: { notNamespaces: ['foo'] } }] },
    request: { principal: null },
    matches: true,
  },

  // serviceAccounts and trustDomains
  {
    name: "Istio: serviceAccounts SA is in the policy's namespace",
    rule: { from: [{ source: { serviceAccounts: ['sleep'] } }] },
    matches: true,
  },
  {
    name: 'Istio: serviceAccounts NS/SA names another namespace',
    rule: { from: [{ source: { serviceAccounts: ['bar/sleep'] } }] },
    request: { principal: 'cluster.local/ns/bar/sa/sleep' },
    matches: true,
  },
  {
    name: 'Istio: serviceAccounts does not match a longer name (sleep vs sleepy)',
    rule: { from: [{ source: { serviceAccounts: ['sleep'] } }] },
    request: { principal: 'cluster.local/ns/foo/sa/sleepy' },
    matches: false,
  },
  {
    name: 'Istio: serviceAccounts admits extra SPIFFE path segments after sa/SA',
    rule: { from: [{ source: { serviceAccounts: ['sleep'] } }] },
    request: { principal: 'cluster.local/ns/foo/sa/sleep/pod/1' },
    matches: true,
  },
  {
    name: 'Istio: notServiceAccounts excludes the account',
    rule: { from: [{ source: { notServiceAccounts: ['foo/sleep'] } }] },
    matches: false,
  },
  {
    name: 'Istio: trustDomains exact',
    rule: { from: [{ source: { trustDomains: ['cluster.local'] } }] },
    matches: true,
  },
  {
    name: 'Istio: trustDomains mismatch',
    rule: { from: [{ source: { trustDomains: ['other.example'] } }] },
    matches: false,
  },
  {
    name: 'Istio: trustDomains suffix (*.local)',
    rule: { from: [{ source: { trustDomains: ['*.local'] } }] },
    matches: true,
  },
  {
    name: 'Istio: trustDomains prefix (cluster.*)',
    rule: { from: [{ source: { trustDomains: ['cluster.*'] } }] },
    matches: true,
  },
  {
    name: 'Istio: trustDomains * needs a peer identity',
    rule: { from: [{ source: { trustDomains: ['*'] } }] },
    request: { principal: null },
    matches: false,
  },
  {
    name: 'Istio: trustDomains wildcard stays inside the trust domain',
    rule: { from: [{ source: { trustDomains: ['*.local'] } }] },
    request: { principal: 'example.org/ns/x.local/sa/y' },
    matches: false,
  },

  // ipBlocks and remoteIpBlocks
  {
    name: 'Istio: ipBlocks single address is a /32',
    rule: { from: [{ source: { ipBlocks: ['10.0.0.1'] } }] },
    matches: true,
  },
  {
    name: 'Istio: ipBlocks CIDR contains the peer',
    rule: { from: [{ source: { ipBlocks: ['10.0.0.0/16'] } }] },
    request: { ip: '10.0.255.7' },
    matches: true,
  },
  {
    name: 'Istio: ipBlocks CIDR does not contain the peer',
    rule: { from: [{ source: { ipBlocks: ['10.1.0.0/16'] } }] },
    matches: false,
  },
  {
    name: 'Envoy: a CIDR with host bits set is masked (10.9.9.9/8)',
    rule: { from: [{ source: { ipBlocks: ['10.9.9.9/8'] } }] },
    matches: true,
  },
  {
    name: 'Istio: ipBlocks IPv6 CIDR',
    rule: { from: [{ source: { ipBlocks: ['2001:db8::/32'] } }] },
    request: { ip: '2001:db8:1::5' },
    matches: true,
  },
  {
    name: 'Istio: ipBlocks IPv6 CIDR excludes other prefixes',
    rule: { from: [{ source: { ipBlocks: ['2001:db8::/32'] } }] },
    request: { ip: '2001:db9::5' },
    matches: false,
  },
  {
    name: 'Envoy: an IPv4 block does not match an IPv6 peer',
    rule: { from: [{ source: { ipBlocks: ['0.0.0.0/0'] } }] },
    request: { ip: '::1' },
    matches: false,
  },
  {
    name: 'Envoy ipv4_compat: an IPv4-mapped peer (::ffff:10.0.0.1) matches IPv4 blocks',
    rule: { from: [{ source: { ipBlocks: ['10.0.0.0/8'] } }] },
    request: { ip: '::ffff:10.0.0.1' },
    matches: true,
  },
  {
    name: 'Istio: notIpBlocks excludes the block',
    rule: { from: [{ source: { notIpBlocks: ['10.0.0.0/24'] } }] },
    matches: false,
  },
  {
    name: 'Istio: ipBlocks reads the socket peer, not the forwarded client',
    rule: { from: [{ source: { ipBlocks: ['203.0.113.0/24'] } }] },
    request: { remoteIp: '203.0.113.9' },
    matches: false,
  },
  {
    name: 'Istio: remoteIpBlocks reads the original client (X-Forwarded-For)',
    rule: { from: [{ source: { remoteIpBlocks: ['203.0.113.0/24'] } }] },
    request: { remoteIp: '203.0.113.9' },
    matches: true,
  },
  {
    name: 'Envoy: remoteIpBlocks falls back to the peer when no proxy said otherwise',
    rule: { from: [{ source: { remoteIpBlocks: ['10.0.0.1'] } }] },
    matches: true,
  },
  {
    name: 'Envoy: an address that is not IP (a pipe) matches no block',
    rule: { from: [{ source: { ipBlocks: ['0.0.0.0/0'] } }] },
    request: { ip: null },
    matches: false,
  },

  // requestPrincipals
  {
    name: 'Istio: requestPrincipals iss/sub exact',
    rule: { from: [{ source: { requestPrincipals: ['https://issuer.example.com/alice'] } }] },
    request: { claims: JWT },
    matches: true,
  },
  {
    name: 'Istio: requestPrincipals need a verified JWT',
    rule: { from: [{ source: { requestPrincipals: ['*'] } }] },
    matches: false,
  },
  {
    name: 'Istio: requestPrincipals * matches any token with iss and sub',
    rule: { from: [{ source: { requestPrincipals: ['*'] } }] },
    request: { claims: JWT },
    matches: true,
  },
  {
    name: 'Istio: requestPrincipals * needs a sub claim',
    rule: { from: [{ source: { requestPrincipals: ['*'] } }] },
    request: { claims: { iss: 'https://issuer.example.com' } },
    matches: false,
  },
  {
    name: 'Istio: requestPrincipals ISS/* matches any subject of that issuer',
    rule: { from: [{ source: { requestPrincipals: ['https://issuer.example.com/*'] } }] },
    request: { claims: JWT },
    matches: true,
  },
  {
    name: 'Istio: requestPrincipals */SUB matches that subject from any issuer',
    rule: { from: [{ source: { requestPrincipals: ['*/alice'] } }] },
    request: { claims: { iss: 'other', sub: 'alice' } },
    matches: true,
  },
  {
    name: 'Istio: requestPrincipals split at the last / (issuer URLs keep theirs)',
    rule: { from: [{ source: { requestPrincipals: ['https://issuer.example.com/alice'] } }] },
    request: { claims: { iss: 'https:', sub: '/issuer.example.com/alice' } },
    matches: false,
  },
  {
    name: 'Istio: requestPrincipals *SUFFIX without / is a suffix on sub',
    rule: { from: [{ source: { requestPrincipals: ['*ice'] } }] },
    request: { claims: JWT },
    matches: true,
  },
  {
    name: 'Istio: notRequestPrincipals * matches requests without a token',
    rule: { from: [{ source: { notRequestPrincipals: ['*'] } }] },
    matches: true,
  },

  // hosts
  {
    name: 'Istio: hosts exact match',
    rule: { to: [{ operation: { hosts: ['httpbin.foo'] } }] },
    matches: true,
  },
  {
    name: 'Istio: hosts match ignores case (request)',
    rule: { to: [{ operation: { hosts: ['httpbin.foo'] } }] },
    request: { host: 'HTTPBIN.Foo' },
    matches: true,
  },
  {
    name: 'Istio: hosts match ignores case (policy)',
    rule: { to: [{ operation: { hosts: ['HttpBin.FOO'] } }] },
    matches: true,
  },
  {
    name: 'Istio: hosts exact does not match host:port',
    rule: { to: [{ operation: { hosts: ['httpbin.foo'] } }] },
    request: { host: 'httpbin.foo:8000' },
    matches: false,
  },
  {
    name: 'Istio best practice: host:* matches a host with any port',
    rule: { to: [{ operation: { hosts: ['httpbin.foo', 'httpbin.foo:*'] } }] },
    request: { host: 'httpbin.foo:8000' },
    matches: true,
  },
  {
    name: 'Istio: hosts suffix (*.example.com)',
    rule: { to: [{ operation: { hosts: ['*.example.com'] } }] },
    request: { host: 'api.example.com' },
    matches: true,
  },
  {
    name: 'Istio: hosts suffix does not match the bare domain',
    rule: { to: [{ operation: { hosts: ['*.example.com'] } }] },
    request: { host: 'example.com' },
    matches: false,
  },
  {
    name: 'Istio: hosts prefix (httpbin.*)',
    rule: { to: [{ operation: { hosts: ['httpbin.*'] } }] },
    matches: true,
  },
  {
    name: 'Istio: hosts * needs a Host header',
    rule: { to: [{ operation: { hosts: ['*'] } }] },
    request: { host: null },
    matches: false,
  },
  {
    name: 'Istio: notHosts excludes the host, ignoring case',
    rule: { to: [{ operation: { notHosts: ['HTTPBIN.foo'] } }] },
    matches: false,
  },
  {
    name: 'Envoy: host case folding is ASCII only',
    rule: { to: [{ operation: { hosts: ['ı.example'] } }] },
    request: { host: 'I.example' },
    matches: false,
  },

  // ports, methods, paths
  {
    name: 'Istio: ports match the destination port',
    rule: { to: [{ operation: { ports: ['8000'] } }] },
    matches: true,
  },
  { name: 'Istio: ports mismatch', rule: { to: [{ operation: { ports: ['9000'] } }] }, matches: false },
  {
    name: 'Istio: notPorts excludes the port',
    rule: { to: [{ operation: { notPorts: ['8000'] } }] },
    matches: false,
  },
  {
    name: 'Istio: methods exact',
    rule: { to: [{ operation: { methods: ['GET', 'HEAD'] } }] },
    matches: true,
  },
  {
    name: 'Istio: methods are case-sensitive',
    rule: { to: [{ operation: { methods: ['get'] } }] },
    matches: false,
  },
  {
    name: 'Istio: gRPC methods are POST',
    rule: { to: [{ operation: { methods: ['POST'], paths: ['/helloworld.Greeter/SayHello'] } }] },
    request: { method: 'POST', path: '/helloworld.Greeter/SayHello' },
    matches: true,
  },
  {
    name: 'Istio: notMethods excludes',
    rule: { to: [{ operation: { notMethods: ['GET'] } }] },
    matches: false,
  },
  { name: 'Istio: paths exact', rule: { to: [{ operation: { paths: ['/info'] } }] }, matches: true },
  {
    name: 'Istio: paths exact is not a prefix',
    rule: { to: [{ operation: { paths: ['/info'] } }] },
    request: { path: '/info/x' },
    matches: false,
  },
  {
    name: 'Istio: paths prefix (/info*) matches /info and /infox',
    rule: { to: [{ operation: { paths: ['/info*'] } }] },
    request: { path: '/infox' },
    matches: true,
  },
  {
    name: 'Istio: paths prefix (/api/*) does not match /api',
    rule: { to: [{ operation: { paths: ['/api/*'] } }] },
    request: { path: '/api' },
    matches: false,
  },
  {
    name: 'Istio: paths suffix (*.png)',
    rule: { to: [{ operation: { paths: ['*.png'] } }] },
    request: { path: '/img/logo.png' },
    matches: true,
  },
  { name: 'Istio: paths * matches any path', rule: { to: [{ operation: { paths: ['*'] } }] }, matches: true },
  {
    name: 'Istio: paths are case-sensitive',
    rule: { to: [{ operation: { paths: ['/INFO'] } }] },
    matches: false,
  },
  {
    name: 'Istio: a * inside a path is literal',
    rule: { to: [{ operation: { paths: ['/a/*/c'] } }] },
    request: { path: '/a/b/c' },
    matches: false,
  },
  {
    name: 'Istio: notPaths excludes',
    rule: { to: [{ operation: { notPaths: ['/info'] } }] },
    matches: false,
  },
  {
    name: 'Istio path template: /foo/{*} matches one segment',
    rule: { to: [{ operation: { paths: ['/foo/{*}'] } }] },
    request: { path: '/foo/bar' },
    matches: true,
  },
  {
    name: 'Istio path template: /foo/{*} does not match two segments',
    rule: { to: [{ operation: { paths: ['/foo/{*}'] } }] },
    request: { path: '/foo/bar/baz' },
    matches: false,
  },
  {
    name: 'Istio path template: /store/{**}/cart matches /store/a/b/cart',
    rule: { to: [{ operation: { paths: ['/store/{**}/cart'] } }] },
    request: { path: '/store/a/b/cart' },
    matches: true,
  },

  // when: request.headers
  {
    name: 'Istio: request.headers exact',
    rule: { when: [{ key: 'request.headers[x-user]', values: ['admin'] }] },
    request: { headers: { 'x-user': 'admin' } },
    matches: true,
  },
  {
    name: 'Istio: request.headers on an absent header does not match',
    rule: { when: [{ key: 'request.headers[x-user]', values: ['*'] }] },
    matches: false,
  },
  {
    name: 'Envoy: request.headers * is presence, an empty value included',
    rule: { when: [{ key: 'request.headers[x-user]', values: ['*'] }] },
    request: { headers: { 'x-user': '' } },
    matches: true,
  },
  {
    name: 'Istio: request.headers prefix',
    rule: { when: [{ key: 'request.headers[user-agent]', values: ['curl/*'] }] },
    request: { headers: { 'user-agent': 'curl/8.4.0' } },
    matches: true,
  },
  {
    name: 'Envoy: header names in keys are case-insensitive',
    rule: { when: [{ key: 'request.headers[X-User]', values: ['admin'] }] },
    request: { headers: { 'x-user': 'admin' } },
    matches: true,
  },
  {
    name: 'Envoy: header values are case-sensitive',
    rule: { when: [{ key: 'request.headers[x-user]', values: ['admin'] }] },
    request: { headers: { 'x-user': 'Admin' } },
    matches: false,
  },
  {
    name: 'Envoy: a repeated header is matched joined with a comma',
    rule: { when: [{ key: 'request.headers[x-user]', values: ['a,b'] }] },
    request: { headers: { 'x-user': ['a', 'b'] } },
    matches: true,
  },
  {
    name: 'Envoy: a repeated header does not match one of its values alone',
    rule: { when: [{ key: 'request.headers[x-user]', values: ['a'] }] },
    request: { headers: { 'x-user': ['a', 'b'] } },
    matches: false,
  },
  {
    name: 'Istio: request.headers notValues matches an absent header',
    rule: { when: [{ key: 'request.headers[x-user]', notValues: ['admin'] }] },
    matches: true,
  },
  {
    name: 'Envoy: request.headers[host] reads :authority (the host as received)',
    rule: { when: [{ key: 'request.headers[host]', values: ['httpbin.foo'] }] },
    request: { headers: { host: 'ignored.example' } },
    matches: true,
  },
  {
    name: "Envoy: request.headers[:path] is the path with its query, as Envoy's :path",
    rule: { when: [{ key: 'request.headers[:path]', values: ['/info?verbose=1'] }] },
    request: { query: '?verbose=1' },
    matches: true,
  },
  {
    name: 'Istio: paths match the path without its query',
    rule: { to: [{ operation: { paths: ['/info'] } }] },
    request: { query: '?verbose=1' },
    matches: true,
  },
  {
    name: 'Envoy: request.headers[:authority] reads the host',
    rule: { when: [{ key: 'request.headers[:authority]', values: ['httpbin.foo'] }] },
    matches: true,
  },
  {
    name: 'Envoy: request.headers[:method] reads the method',
    rule: { when: [{ key: 'request.headers[:method]', values: ['GET'] }] },
    matches: true,
  },

  // when: peer and connection attributes
  {
    name: 'Istio: when source.ip CIDR',
    rule: { when: [{ key: 'source.ip', values: ['10.0.0.0/24'] }] },
    matches: true,
  },
  {
    name: 'Istio: when source.ip notValues',
    rule: { when: [{ key: 'source.ip', notValues: ['10.0.0.1'] }] },
    matches: false,
  },
  {
    name: 'Istio: when remote.ip',
    rule: { when: [{ key: 'remote.ip', values: ['198.51.100.0/24'] }] },
    request: { remoteIp: '198.51.100.20' },
    matches: true,
  },
  {
    name: 'Istio: when destination.ip',
    rule: { when: [{ key: 'destination.ip', values: ['10.0.1.0/24'] }] },
    matches: true,
  },
  {
    name: 'Istio: when destination.ip IPv6',
    rule: { when: [{ key: 'destination.ip', values: ['fd00::/8'] }] },
    request: { destinationIp: 'fd00::1' },
    matches: true,
  },
  {
    name: 'Istio: when destination.port',
    rule: { when: [{ key: 'destination.port', values: ['8000', '8080'] }] },
    request: { port: 8080 },
    matches: true,
  },
  {
    name: 'Istio: when destination.port mismatch',
    rule: { when: [{ key: 'destination.port', values: ['8080'] }] },
    matches: false,
  },
  {
    name: 'Istio: when source.namespace',
    rule: { when: [{ key: 'source.namespace', values: ['foo'] }] },
    matches: true,
  },
  {
    name: 'Istio: when source.principal',
    rule: { when: [{ key: 'source.principal', values: ['cluster.local/ns/foo/sa/sleep'] }] },
    matches: true,
  },
  {
    name: 'Istio: when source.serviceAccount',
    rule: { when: [{ key: 'source.serviceAccount', values: ['foo/sleep'] }] },
    matches: true,
  },
  {
    name: 'Istio: when source.trustDomain',
    rule: { when: [{ key: 'source.trustDomain', notValues: ['cluster.local'] }] },
    matches: false,
  },
  {
    name: 'Istio: when connection.sni',
    rule: { when: [{ key: 'connection.sni', values: ['*.example.com'] }] },
    request: { sni: 'api.example.com' },
    matches: true,
  },
  {
    name: 'Istio: when connection.sni * needs an SNI',
    rule: { when: [{ key: 'connection.sni', values: ['*'] }] },
    matches: false,
  },

  // when: JWT
  {
    name: 'Istio: when request.auth.principal',
    rule: { when: [{ key: 'request.auth.principal', values: ['https://issuer.example.com/alice'] }] },
    request: { claims: JWT },
    matches: true,
  },
  {
    name: 'Istio: when request.auth.audiences (string aud)',
    rule: { when: [{ key: 'request.auth.audiences', values: ['bookinfo'] }] },
    request: { claims: JWT },
    matches: true,
  },
  {
    name: 'Istio: when request.auth.audiences (list aud, any element)',
    rule: { when: [{ key: 'request.auth.audiences', values: ['reviews'] }] },
    request: { claims: { ...JWT, aud: ['bookinfo', 'reviews'] } },
    matches: true,
  },
  {
    name: 'Istio: when request.auth.presenter (azp)',
    rule: { when: [{ key: 'request.auth.presenter', values: ['web'] }] },
    request: { claims: JWT },
    matches: true,
  },
  {
    name: 'Istio: when request.auth.claims[iss]',
    rule: { when: [{ key: 'request.auth.claims[iss]', values: ['https://issuer.example.com'] }] },
    request: { claims: JWT },
    matches: true,
  },
  {
    name: 'Istio: a list claim matches if any element does',
    rule: { when: [{ key: 'request.auth.claims[groups]', values: ['admins'] }] },
    request: { claims: { ...JWT, groups: ['dev', 'admins'] } },
    matches: true,
  },
  {
    name: 'Istio: a list claim with no matching element does not match',
    rule: { when: [{ key: 'request.auth.claims[groups]', values: ['admins'] }] },
    request: { claims: { ...JWT, groups: ['dev'] } },
    matches: false,
  },
  {
    name: 'Istio: nested claims [realm_access][roles]',
    rule: { when: [{ key: 'request.auth.claims[realm_access][roles]', values: ['editor'] }] },
    request: { claims: { ...JWT, realm_access: { roles: ['viewer', 'editor'] } } },
    matches: true,
  },
  {
    name: 'Istio: a claim name with a dot is one name, not a path',
    rule: { when: [{ key: 'request.auth.claims[a.b]', values: ['x'] }] },
    request: { claims: { ...JWT, 'a.b': 'x', a: { b: 'y' } } },
    matches: true,
  },
  {
    name: 'Envoy: a boolean claim never matches a string value',
    rule: { when: [{ key: 'request.auth.claims[email_verified]', values: ['true'] }] },
    request: { claims: { ...JWT, email_verified: true } },
    matches: false,
  },
  {
    name: 'Istio: claims * needs a non-empty claim',
    rule: { when: [{ key: 'request.auth.claims[email]', values: ['*'] }] },
    request: { claims: { ...JWT, email: '' } },
    matches: false,
  },
  {
    name: 'Istio: claims without a token do not match',
    rule: { when: [{ key: 'request.auth.claims[iss]', values: ['*'] }] },
    matches: false,
  },
  {
    name: "Weft: claims never reach the payload's prototype ([constructor][name])",
    rule: { when: [{ key: 'request.auth.claims[constructor][name]', values: ['Object'] }] },
    request: { claims: JWT },
    matches: false,
  },
  {
    name: 'Istio: claims notValues match when the claim is absent',
    rule: { when: [{ key: 'request.auth.claims[groups]', notValues: ['banned'] }] },
    request: { claims: JWT },
    matches: true,
  },
]

describe('AuthorizationPolicy matching', () => {
  it.each(matching)('$name', ({ rule, request: patch, matches }) => {
    const allow = decide([policy('allow', { action: 'ALLOW', rules: [rule] })], patch)
    expect(allow.verdict).toBe(matches ? 'allow' : 'deny')
    expect(allow.reason).toBe(matches ? 'allowed-by-policy' : 'no-allow-policy-matched')
    const deny = decide([policy('deny', { action: 'DENY', rules: [rule] })], patch)
    expect(deny.verdict).toBe(matches ? 'deny' : 'allow')
  })
})

const ALLOW_ALL = policy('allow-all', { rules: [{}] })
const DENY_ADMIN = policy('deny-admin', {
  action: 'DENY',
  rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }],
})
const AUDIT_GET = policy('audit-get', {
  action: 'AUDIT',
  rules: [{ to: [{ operation: { methods: ['GET'] } }] }],
})
const custom = (name: string, provider: string, paths = ['/info']) =>
  policy(name, {
    action: 'CUSTOM',
    provider: { name: provider },
    rules: [{ to: [{ operation: { paths } }] }],
  })

/** The decisions Istio makes across policies: action order, empty rules, CUSTOM, AUDIT, dry run. */
const decisions: {
  name: string
  policies: AuthorizationPolicy[]
  request?: RequestPatch
  expected: Partial<AuthorizationDecision> & Record<string, unknown>
}[] = [
  {
    name: 'Istio: no policy → allow',
    policies: [],
    expected: { verdict: 'allow', reason: 'no-allow-policies', custom: [], audit: [], dryRun: [] },
  },
  {
    name: 'Istio: the default action is ALLOW',
    policies: [policy('a', { rules: [{ to: [{ operation: { paths: ['/other'] } }] }] })],
    expected: { verdict: 'deny', reason: 'no-allow-policy-matched' },
  },
  {
    name: 'Istio: ALLOW without rules (allow-nothing) denies every request',
    policies: [policy('allow-nothing', {})],
    expected: { verdict: 'deny', reason: 'no-allow-policy-matched' },
  },
  {
    name: 'Istio: ALLOW with rules: [] is allow-nothing too',
    policies: [policy('allow-nothing', { rules: [] })],
    expected: { verdict: 'deny', reason: 'no-allow-policy-matched' },
  },
  {
    name: 'Istio: ALLOW with rules [{}] allows every request',
    policies: [ALLOW_ALL],
    request: { principal: null, ip: null, host: null },
    expected: {
      verdict: 'allow',
      reason: 'allowed-by-policy',
      policy: 'AuthorizationPolicy/foo/allow-all',
      rule: 0,
    },
  },
  {
    name: 'Istio: DENY with rules [{}] denies every request',
    policies: [policy('deny-all', { action: 'DENY', rules: [{}] })],
    expected: {
      verdict: 'deny',
      reason: 'denied-by-policy',
      policy: 'AuthorizationPolicy/foo/deny-all',
      rule: 0,
    },
  },
  {
    name: 'Istio: DENY without rules never matches',
    policies: [policy('deny-none', { action: 'DENY' })],
    expected: { verdict: 'allow', reason: 'no-allow-policies' },
  },
  {
    name: 'Istio: DENY is evaluated before ALLOW',
    policies: [ALLOW_ALL, DENY_ADMIN],
    request: { path: '/admin/users' },
    expected: { verdict: 'deny', reason: 'denied-by-policy', policy: 'AuthorizationPolicy/foo/deny-admin' },
  },
  {
    name: 'Istio: a DENY that does not match leaves the request to ALLOW',
    policies: [ALLOW_ALL, DENY_ADMIN],
    expected: { verdict: 'allow', reason: 'allowed-by-policy' },
  },
  {
    name: 'Istio: a DENY that does not match, and no ALLOW policy → allow',
    policies: [DENY_ADMIN],
    expected: { verdict: 'allow', reason: 'no-allow-policies' },
  },
  {
    name: 'Istio: any one ALLOW policy allows',
    policies: [
      policy('a', { rules: [{ to: [{ operation: { paths: ['/a'] } }] }] }),
      policy('b', { rules: [{ to: [{ operation: { paths: ['/info'] } }] }] }),
    ],
    expected: { verdict: 'allow', policy: 'AuthorizationPolicy/foo/b', rule: 0 },
  },
  {
    name: 'Istio: rules of one policy are ORed; the matching rule is reported',
    policies: [
      policy('a', {
        rules: [{ to: [{ operation: { paths: ['/a'] } }] }, { to: [{ operation: { paths: ['/info'] } }] }],
      }),
    ],
    expected: { verdict: 'allow', policy: 'AuthorizationPolicy/foo/a', rule: 1 },
  },
  {
    name: 'Envoy: of two matching policies, the first by ns[NS]-policy[NAME] name is reported',
    policies: [
      policy('zeta', { action: 'DENY', rules: [{}] }),
      policy('alpha', { action: 'DENY', rules: [{}] }),
    ],
    expected: { verdict: 'deny', policy: 'AuthorizationPolicy/foo/alpha' },
  },
  {
    name: 'Envoy: names sort as strings, so rule[10] comes before rule[2]',
    policies: [
      policy('p', {
        action: 'DENY',
        rules: [...Array.from({ length: 11 }, (): Rule => ({ to: [{ operation: { methods: ['X'] } }] })), {}],
      }),
    ],
    expected: { verdict: 'deny', rule: 11 },
  },
  {
    name: 'Istio: a mesh root-namespace policy applies like the namespace’s own',
    policies: [
      ALLOW_ALL,
      policy('global-deny', { action: 'DENY', rules: [{}] }, { namespace: 'istio-system' }),
    ],
    expected: { verdict: 'deny', policy: 'AuthorizationPolicy/istio-system/global-deny' },
  },
  {
    name: 'Istio: AUDIT does not change an allow, and is recorded',
    policies: [AUDIT_GET],
    expected: { verdict: 'allow', reason: 'no-allow-policies', audit: ['AuthorizationPolicy/foo/audit-get'] },
  },
  {
    name: 'Istio: AUDIT is recorded on a denied request too',
    policies: [AUDIT_GET, DENY_ADMIN],
    request: { path: '/admin' },
    expected: { verdict: 'deny', reason: 'denied-by-policy', audit: ['AuthorizationPolicy/foo/audit-get'] },
  },
  {
    name: 'Istio: an AUDIT policy that does not match records nothing',
    policies: [AUDIT_GET],
    request: { method: 'POST' },
    expected: { verdict: 'allow', audit: [] },
  },
  {
    name: 'Istio: every matching AUDIT policy is recorded once',
    policies: [AUDIT_GET, policy('audit-all', { action: 'AUDIT', rules: [{}, {}] })],
    expected: { audit: ['AuthorizationPolicy/foo/audit-all', 'AuthorizationPolicy/foo/audit-get'] },
  },
  {
    name: 'Istio: a matching CUSTOM policy names its provider; DENY and ALLOW still decide',
    policies: [custom('ext', 'opa'), ALLOW_ALL],
    expected: {
      verdict: 'allow',
      reason: 'allowed-by-policy',
      custom: [{ provider: 'opa', policy: 'AuthorizationPolicy/foo/ext' }],
    },
  },
  {
    name: 'Istio: a CUSTOM policy that does not match asks no provider',
    policies: [custom('ext', 'opa', ['/admin'])],
    expected: { verdict: 'allow', custom: [] },
  },
  {
    name: 'Istio: CUSTOM is asked before DENY, even for a request DENY will refuse',
    policies: [custom('ext', 'opa', ['/admin*']), DENY_ADMIN],
    request: { path: '/admin' },
    expected: { verdict: 'deny', custom: [{ provider: 'opa', policy: 'AuthorizationPolicy/foo/ext' }] },
  },
  {
    name: 'Istio: CUSTOM policies are not ALLOW policies (no default deny)',
    policies: [custom('ext', 'opa')],
    expected: { verdict: 'allow', reason: 'no-allow-policies' },
  },
  {
    name: 'Istio: each provider is asked once, in provider-name order',
    policies: [custom('z', 'zed'), custom('b', 'authz'), custom('a', 'zed')],
    expected: {
      custom: [
        { provider: 'authz', policy: 'AuthorizationPolicy/foo/b' },
        { provider: 'zed', policy: 'AuthorizationPolicy/foo/a' },
      ],
    },
  },
  {
    name: 'Istio: a CUSTOM policy without a provider denies the requests it matches',
    policies: [policy('bad', { action: 'CUSTOM', rules: [{}] })],
    expected: {
      verdict: 'deny',
      reason: 'denied-by-policy',
      policy: 'AuthorizationPolicy/foo/bad',
      custom: [],
    },
  },
  {
    name: 'Istio: a dry-run DENY is not enforced, only reported',
    policies: [
      policy('dry', { action: 'DENY', rules: [{}] }, { annotations: { 'istio.io/dry-run': 'true' } }),
    ],
    expected: {
      verdict: 'allow',
      reason: 'no-allow-policies',
      dryRun: [{ action: 'DENY', policy: 'AuthorizationPolicy/foo/dry' }],
    },
  },
  {
    name: 'Istio: a dry-run ALLOW does not make the workload deny by default',
    policies: [
      policy(
        'dry',
        { rules: [{ to: [{ operation: { paths: ['/x'] } }] }] },
        { annotations: { 'istio.io/dry-run': 'True' } },
      ),
    ],
    expected: { verdict: 'allow', reason: 'no-allow-policies', dryRun: [] },
  },
  {
    name: 'Istio: istio.io/dry-run "false" is enforced',
    policies: [
      policy('dry', { action: 'DENY', rules: [{}] }, { annotations: { 'istio.io/dry-run': 'false' } }),
    ],
    expected: { verdict: 'deny', dryRun: [] },
  },
  {
    name: 'Istio: an istio.io/dry-run that is not a Go boolean is enforced',
    policies: [
      policy('dry', { action: 'DENY', rules: [{}] }, { annotations: { 'istio.io/dry-run': 'yes' } }),
    ],
    expected: { verdict: 'deny' },
  },
  {
    name: 'Istio: a null rule is skipped (never matches)',
    policies: [policy('nil', { rules: [null as unknown as Rule] })],
    expected: { verdict: 'deny', reason: 'no-allow-policy-matched' },
  },
]

describe('AuthorizationPolicy decisions', () => {
  it.each(decisions)('$name', ({ policies, request: patch, expected }) => {
    expect(decide(policies, patch)).toMatchObject(expected)
  })
})

/** What Weft cannot evaluate fails closed: never allows, always denies. */
const unevaluable: { name: string; rule: Rule; request?: RequestPatch; allow: boolean; deny: boolean }[] = [
  {
    name: 'Weft: an experimental.envoy.filters key makes an ALLOW rule match nothing and a DENY rule match',
    rule: {
      when: [{ key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]'] }],
    },
    allow: false,
    deny: true,
  },
  {
    name: 'Weft: an unevaluable notValues entry is left out of a DENY rule (it still matches)',
    rule: { when: [{ key: 'experimental.envoy.filters.a[b]', notValues: ['x'] }] },
    allow: false,
    deny: true,
  },
  {
    name: 'Weft: a DENY rule with an unevaluable key still needs the rest of the rule',
    rule: {
      to: [{ operation: { paths: ['/admin'] } }],
      when: [{ key: 'experimental.envoy.filters.a[b]', values: ['x'] }],
    },
    allow: false,
    deny: false,
  },
  {
    name: 'Weft: an unknown when key fails closed',
    rule: { when: [{ key: 'request.time', values: ['x'] }] },
    allow: false,
    deny: true,
  },
  {
    name: 'Weft: a malformed request.headers key fails closed',
    rule: { when: [{ key: 'request.headers.x-user', values: ['x'] }] },
    allow: false,
    deny: true,
  },
  {
    name: 'Istio checkError: a bad CIDR makes an ALLOW rule match nothing, a DENY rule wider',
    rule: { from: [{ source: { ipBlocks: ['10.0.0.300/8'] } }] },
    allow: false,
    deny: true,
  },
  {
    name: 'Istio checkError: a bad port makes an ALLOW rule match nothing, a DENY rule wider',
    rule: { to: [{ operation: { ports: ['http'] } }] },
    allow: false,
    deny: true,
  },
  {
    name: 'Weft: a bad value next to a good one still fails closed',
    rule: { from: [{ source: { ipBlocks: ['192.168.0.0/16', 'bad'] } }] },
    allow: false,
    deny: true,
  },
  {
    name: 'Weft: a good notValues entry still applies next to a bad one',
    rule: { from: [{ source: { notIpBlocks: ['10.0.0.0/8', 'bad'] } }] },
    allow: false,
    deny: false,
  },
  {
    name: 'Weft: an invalid path template fails closed',
    rule: { to: [{ operation: { paths: ['/foo/{*}.txt'] } }] },
    request: { path: '/foo/a.txt' },
    allow: false,
    deny: true,
  },
  {
    name: 'Weft: an unknown source field fails closed',
    rule: { from: [{ source: { notAField: ['x'] } as never }] },
    allow: false,
    deny: true,
  },
]

describe('AuthorizationPolicy values Weft cannot evaluate', () => {
  it.each(unevaluable)('$name', ({ rule, request: patch, allow, deny }) => {
    const allowed = compileAuthorization([policy('p', { action: 'ALLOW', rules: [rule] })])
    expect(allowed.decide(request(patch)).verdict).toBe(allow ? 'allow' : 'deny')
    expect(allowed.notes.length).toBeGreaterThan(0)
    const denied = compileAuthorization([policy('p', { action: 'DENY', rules: [rule] })])
    expect(denied.decide(request(patch)).verdict).toBe(deny ? 'deny' : 'allow')
  })

  it('Istio: other rules of a policy still match when one rule cannot be evaluated', () => {
    const authorizer = compileAuthorization([
      policy('p', {
        rules: [
          { when: [{ key: 'experimental.envoy.filters.a[b]', values: ['x'] }] },
          { to: [{ operation: { paths: ['/info'] } }] },
        ],
      }),
    ])
    expect(authorizer.decide(request())).toMatchObject({ verdict: 'allow', rule: 1 })
  })
})

describe('evaluation errors deny', () => {
  const authorizer = compileAuthorization([
    policy('p', { rules: [{ when: [{ key: 'request.headers[x-user]', values: ['admin'] }] }] }),
  ])

  it('Weft: a header value of the wrong type denies with evaluation-failed', () => {
    const decision = authorizer.decide(request({ headers: { 'x-user': 42 as never } }))
    expect(decision).toMatchObject({ verdict: 'deny', reason: 'evaluation-failed' })
    expect(decision.reason === 'evaluation-failed' && decision.error).toBe(
      'InvalidAuthorizationRequestError WEFT_CORE_INVALID_AUTHORIZATION_REQUEST: headers[x-user] must be a string or a list of strings',
    )
  })

  it('Weft: an attribute that throws denies with evaluation-failed', () => {
    const throwing = request()
    Object.defineProperty(throwing, 'headers', {
      get() {
        throw new Error('boom')
      },
    })
    expect(authorizer.decide(throwing)).toMatchObject({
      verdict: 'deny',
      reason: 'evaluation-failed',
      error: 'Error: boom',
    })
  })

  it('Weft: claims that are not an object deny', () => {
    const jwt = compileAuthorization([
      policy('p', { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] }),
    ])
    const bad = { ...request(), auth: { claims: 'x' as never } }
    expect(jwt.decide(bad)).toMatchObject({ verdict: 'deny', reason: 'evaluation-failed' })
  })

  it('Weft: the authorizer recovers after an error', () => {
    authorizer.decide(request({ headers: { 'x-user': 42 as never } }))
    expect(authorizer.decide(request({ headers: { 'x-user': 'admin' } })).verdict).toBe('allow')
  })
})

describe('the compiled authorizer', () => {
  it('Weft: decisions are plain JSON', () => {
    const decision = decide([custom('ext', 'opa'), AUDIT_GET, ALLOW_ALL])
    expect(JSON.parse(JSON.stringify(decision))).toEqual(decision)
  })

  it('Weft: the authorizer and its precomputed decisions are frozen', () => {
    const authorizer = compileAuthorization([ALLOW_ALL])
    expect(Object.isFrozen(authorizer)).toBe(true)
    expect(Object.isFrozen(authorizer.decide(request()))).toBe(true)
  })

  it('Weft: toString lists each rule in Envoy order, with its conditions', () => {
    const text = compileAuthorization([DENY_ADMIN, ALLOW_ALL]).toString()
    expect(text.split('\n')).toEqual([
      'ALLOW AuthorizationPolicy/foo/allow-all rules[0]: any request',
      'DENY AuthorizationPolicy/foo/deny-admin rules[0]: to paths any of [path prefix "/admin"]',
    ])
  })
})
