// Acceptance 1 and 2 of issue #5: one table of inbound cases, run against a real Express 5 server
// and a real Fastify 5 server (raw HTTP/1.1 over node:net, so that no client cleans the path),
// and its authorization part against a real grpc-js server. Each hostile case carries the decision
// Istio makes under its default path normalisation (BASE).
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { createInboundPolicy, type InboundDecisionEvent, type InboundPolicy } from '@weft/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type RunningGrpc,
  type RunningServer,
  rawRequest,
  type Seen,
  startExpress,
  startFastify,
  startGrpc,
} from './support/inbound-servers.js'

const here = dirname(fileURLToPath(import.meta.url))
const istio = process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../shared/istio')
const jwks = readFileSync(join(istio, 'jwt/jwks.json'), 'utf8')
const demoJwt = readFileSync(join(istio, 'jwt/demo.jwt'), 'utf8').trim()
const groupsJwt = readFileSync(join(istio, 'jwt/groups-scope.jwt'), 'utf8').trim()

const policy = (name: string, spec: string, namespace = 'default', extra = '') => `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ${name}, namespace: ${namespace}${extra}}
spec: ${spec}
`
const requestAuthentication = `---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  jwtRules:
  - issuer: testing@secure.istio.io
    jwks: ${JSON.stringify(jwks)}
`

type Header = readonly [string, string]
interface Case {
  readonly name: string
  readonly method?: string
  readonly target: string
  readonly headers?: readonly Header[]
  /** Host header; default `reviews.default`; null sends none. */
  readonly host?: string | null
  readonly status: number
  /** The path and query the application saw, for allowed requests. */
  readonly seen?: string
  readonly audit?: readonly string[]
  readonly dryRun?: readonly string[]
  readonly hostile?: boolean
}
interface Group {
  readonly name: string
  readonly yaml: string
  readonly cases: readonly Case[]
}

const H = true
const groups: readonly Group[] = [
  {
    name: 'hostile requests against DENY /admin, hosts, headers and methods (BASE normalisation)',
    yaml: [
      policy('deny-admin', '{action: DENY, rules: [{to: [{operation: {paths: ["/admin", "/admin/*"]}}]}]}'),
      policy(
        'deny-hosts',
        '{action: DENY, rules: [{to: [{operation: {hosts: ["evil.example.com", "blocked.test:*"]}}]}]}',
      ),
      policy(
        'deny-header',
        '{action: DENY, rules: [{when: [{key: "request.headers[x-block]", values: ["yes"]}]}]}',
      ),
      policy(
        'deny-delete',
        '{action: DENY, rules: [{to: [{operation: {methods: ["DELETE"], paths: ["/api/*"]}}]}]}',
      ),
    ].join(''),
    cases: [
      { name: 'plain /admin', target: '/admin', status: 403, hostile: H },
      { name: 'trailing slash', target: '/admin/', status: 403, hostile: H },
      { name: 'sub-path', target: '/admin/users', status: 403, hostile: H },
      { name: 'dot-dot out of /public', target: '/public/../admin', status: 403, hostile: H },
      { name: 'dot and dot-dot', target: '/public/./../admin/x', status: 403, hostile: H },
      { name: 'leading dot segment', target: '/./admin', status: 403, hostile: H },
      { name: 'dot-dot above the root', target: '/../admin', status: 403, hostile: H },
      { name: 'two dot-dots above the root', target: '/public/../../admin', status: 403, hostile: H },
      { name: 'escaped unreserved letter %61', target: '/%61dmin', status: 403, hostile: H },
      { name: 'escaped unreserved letter %6D', target: '/ad%6Din', status: 403, hostile: H },
      { name: 'escaped capital %41 is /Admin', target: '/%41dmin', status: 200, seen: '/Admin', hostile: H },
      { name: 'upper case path', target: '/ADMIN', status: 200, seen: '/ADMIN', hostile: H },
      { name: 'mixed case sub-path', target: '/Admin/x', status: 200, seen: '/Admin/x', hostile: H },
      { name: 'double slash is not merged', target: '//admin', status: 200, seen: '//admin', hostile: H },
      { name: 'double slash inside', target: '/admin//x', status: 403, hostile: H },
      { name: '%2F kept as written', target: '/admin%2Fx', status: 200, seen: '/admin%2Fx', hostile: H },
      {
        name: '%2f lower case kept',
        target: '/admin%2fusers',
        status: 200,
        seen: '/admin%2fusers',
        hostile: H,
      },
      {
        name: 'escaped slashes around dot-dot',
        target: '/public%2F..%2Fadmin',
        status: 200,
        seen: '/public%2F..%2Fadmin',
        hostile: H,
      },
      {
        name: 'dot-dot with escaped slash is one segment',
        target: '/public/..%2Fadmin',
        status: 200,
        seen: '/public/..%2Fadmin',
        hostile: H,
      },
      { name: '%2e%2e decoded then resolved', target: '/public/%2e%2e/admin', status: 403, hostile: H },
      { name: '%2E%2E decoded then resolved', target: '/public/%2E%2E/admin', status: 403, hostile: H },
      { name: 'half-escaped dot-dot', target: '/public/.%2e/admin', status: 403, hostile: H },
      {
        name: 'double-escaped dots decoded once only',
        target: '/%252e%252e/admin',
        status: 200,
        seen: '/%252e%252e/admin',
        hostile: H,
      },
      { name: 'backslash becomes slash', target: '/public\\..\\admin', status: 403, hostile: H },
      { name: 'trailing backslash', target: '/admin\\', status: 403, hostile: H },
      { name: '%5C kept as written', target: '/%5Cadmin', status: 200, seen: '/%5Cadmin', hostile: H },
      { name: 'fragment refused', target: '/admin#x', status: 400, hostile: H },
      { name: 'fragment hiding dot-dot refused', target: '/public#/../admin', status: 400, hostile: H },
      { name: 'query is not the path', target: '/admin?x=1', status: 403, hostile: H },
      {
        name: 'path in the query',
        target: '/public?/admin',
        status: 200,
        seen: '/public?/admin',
        hostile: H,
      },
      {
        name: 'dot-dot in the query is left alone',
        target: '/public?x=/../admin',
        status: 200,
        seen: '/public?x=/../admin',
        hostile: H,
      },
      {
        name: 'question mark escaped in path',
        target: '/admin%3Fx',
        status: 200,
        seen: '/admin%3Fx',
        hostile: H,
      },
      { name: '..; is not a dot segment', target: '/admin/..;/x', status: 403, hostile: H },
      {
        name: 'path parameter is part of the segment',
        target: '/admin;x',
        status: 200,
        seen: '/admin;x',
        hostile: H,
      },
      { name: 'trailing dot in path', target: '/admin.', status: 200, seen: '/admin.', hostile: H },
      { name: 'escaped NUL refused', target: '/admin%00', status: 400, hostile: H },
      { name: 'bad percent-encoding refused', target: '/adm%zzin', status: 400, hostile: H },
      { name: 'truncated percent-encoding refused', target: '/admin%2', status: 400, hostile: H },
      { name: 'escaped space kept', target: '/admin%20', status: 200, seen: '/admin%20', hostile: H },
      {
        name: 'climbing out of /admin to the root',
        target: '/admin/x/../..',
        status: 200,
        seen: '/',
        hostile: H,
      },
      { name: 'host denied', target: '/', host: 'evil.example.com', status: 403, hostile: H },
      { name: 'host case ignored', target: '/', host: 'EVIL.Example.COM', status: 403, hostile: H },
      {
        name: 'host with a port is another host',
        target: '/',
        host: 'evil.example.com:8080',
        status: 200,
        seen: '/',
        hostile: H,
      },
      {
        name: 'host with a trailing dot is another host',
        target: '/',
        host: 'evil.example.com.',
        status: 200,
        seen: '/',
        hostile: H,
      },
      {
        name: 'host:* pattern needs a port',
        target: '/',
        host: 'blocked.test',
        status: 200,
        seen: '/',
        hostile: H,
      },
      { name: 'host:* pattern with a port', target: '/', host: 'blocked.test:9000', status: 403, hostile: H },
      { name: 'header denied', target: '/', headers: [['x-block', 'yes']], status: 403, hostile: H },
      {
        name: 'header name case ignored',
        target: '/',
        headers: [['X-BLOCK', 'yes']],
        status: 403,
        hostile: H,
      },
      {
        name: 'header value case kept',
        target: '/',
        headers: [['x-block', 'YES']],
        status: 200,
        seen: '/',
        hostile: H,
      },
      {
        name: 'header with surrounding whitespace',
        target: '/',
        headers: [['x-block', '   yes  ']],
        status: 403,
        hostile: H,
      },
      {
        name: 'repeated header is joined with a comma',
        target: '/',
        headers: [
          ['x-block', 'yes'],
          ['x-block', 'yes'],
        ],
        status: 200,
        seen: '/',
        hostile: H,
      },
      {
        name: 'empty header value',
        target: '/',
        headers: [['x-block', '']],
        status: 200,
        seen: '/',
        hostile: H,
      },
      { name: 'method denied on /api', method: 'DELETE', target: '/api/x', status: 403, hostile: H },
      {
        name: 'dot-dot into /api with DELETE',
        method: 'DELETE',
        target: '/other/../api/x',
        status: 403,
        hostile: H,
      },
      {
        name: 'other method passes',
        method: 'PATCH',
        target: '/api/x',
        status: 200,
        seen: '/api/x',
        hostile: H,
      },
      {
        name: 'a harmless path passes',
        target: '/public/index.html',
        status: 200,
        seen: '/public/index.html',
      },
    ],
  },
  {
    name: 'no policy: everything is allowed',
    yaml: '',
    cases: [
      { name: 'GET', target: '/anything', status: 200, seen: '/anything' },
      { name: 'POST', method: 'POST', target: '/x?y=1', status: 200, seen: '/x?y=1' },
    ],
  },
  {
    name: 'ALLOW without rules allows nothing',
    yaml: policy('allow-nothing', '{}'),
    cases: [
      { name: 'GET /', target: '/', status: 403 },
      { name: 'GET /x', target: '/x', status: 403 },
    ],
  },
  {
    name: 'ALLOW rules: [{}] allows everything, DENY rules: [{}] denies everything',
    yaml: policy('allow-all', '{rules: [{}]}') + policy('deny-all', '{action: DENY, rules: [{}]}', 'default'),
    cases: [
      { name: 'DENY wins over ALLOW', target: '/', status: 403 },
      { name: 'POST too', method: 'POST', target: '/x', status: 403 },
    ],
  },
  {
    name: 'ALLOW by operation: methods, paths, notPaths, notMethods, ports',
    yaml: policy(
      'allow-api',
      '{rules: [{to: [{operation: {methods: ["GET", "HEAD"], paths: ["/api/*", "*.css"], notPaths: ["/api/private*"]}}]}, {to: [{operation: {notMethods: ["GET", "DELETE", "HEAD"], paths: ["/forms/{*}/submit"], notPorts: ["1"]}}]}]}',
    ),
    cases: [
      { name: 'GET /api/items', target: '/api/items', status: 200, seen: '/api/items' },
      { name: 'HEAD /api/items', method: 'HEAD', target: '/api/items', status: 200 },
      { name: 'POST /api/items', method: 'POST', target: '/api/items', status: 403 },
      { name: 'GET /api/private', target: '/api/private/x', status: 403 },
      { name: 'GET suffix *.css', target: '/static/site.css', status: 200, seen: '/static/site.css' },
      { name: 'GET /other', target: '/other', status: 403 },
      {
        name: 'POST to a path template',
        method: 'POST',
        target: '/forms/a/submit',
        status: 200,
        seen: '/forms/a/submit',
      },
      { name: 'path template {*} is one segment', method: 'POST', target: '/forms/a/b/submit', status: 403 },
      { name: 'notMethods excludes DELETE', method: 'DELETE', target: '/forms/a/submit', status: 403 },
      { name: 'PUT passes notMethods', method: 'PUT', target: '/forms/x/submit', status: 200 },
    ],
  },
  {
    name: 'ALLOW by source: ipBlocks, notIpBlocks, remoteIpBlocks, principals (plaintext has none)',
    yaml:
      policy(
        'allow-loopback',
        '{rules: [{from: [{source: {ipBlocks: ["127.0.0.0/8"], notIpBlocks: ["127.0.0.2"]}}], to: [{operation: {paths: ["/loopback"]}}]}]}',
      ) +
      policy(
        'allow-remote',
        '{rules: [{from: [{source: {remoteIpBlocks: ["10.0.0.0/8"]}}], to: [{operation: {paths: ["/remote"]}}]}]}',
      ) +
      policy(
        'allow-mtls',
        '{rules: [{from: [{source: {principals: ["*"]}}], to: [{operation: {paths: ["/mtls"]}}]}]}',
      ) +
      policy(
        'allow-ns',
        '{rules: [{from: [{source: {namespaces: ["default"]}}], to: [{operation: {paths: ["/ns"]}}]}]}',
      ) +
      policy(
        'allow-not-principal',
        '{rules: [{from: [{source: {notPrincipals: ["cluster.local/ns/x/sa/y"]}}], to: [{operation: {paths: ["/not-principal"]}}]}]}',
      ),
    cases: [
      { name: 'loopback peer allowed', target: '/loopback', status: 200 },
      { name: 'remote ip is not 10/8', target: '/remote', status: 403 },
      { name: 'plaintext peer has no principal', target: '/mtls', status: 403 },
      { name: 'plaintext peer has no namespace', target: '/ns', status: 403 },
      {
        name: 'notPrincipals: an absent principal is not the excluded one',
        target: '/not-principal',
        status: 200,
      },
      { name: 'a path no rule names', target: '/elsewhere', status: 403 },
    ],
  },
  {
    name: 'when: headers, source.ip, destination.port, not values',
    yaml: policy(
      'allow-when',
      '{rules: [{when: [{key: "request.headers[x-env]", values: ["prod", "stag*"]}, {key: "source.ip", values: ["127.0.0.1"]}, {key: "request.headers[x-team]", notValues: ["blocked"]}]}]}',
    ),
    cases: [
      { name: 'matching header', target: '/', headers: [['x-env', 'prod']], status: 200 },
      { name: 'prefix value', target: '/', headers: [['x-env', 'staging']], status: 200 },
      { name: 'other value', target: '/', headers: [['x-env', 'dev']], status: 403 },
      { name: 'absent header', target: '/', status: 403 },
      {
        name: 'notValues excludes',
        target: '/',
        headers: [
          ['x-env', 'prod'],
          ['x-team', 'blocked'],
        ],
        status: 403,
      },
      {
        name: 'notValues lets others through',
        target: '/',
        headers: [
          ['x-env', 'prod'],
          ['x-team', 'ok'],
        ],
        status: 200,
      },
    ],
  },
  {
    name: 'selectors and the root namespace',
    yaml:
      policy('deny-ratings', '{selector: {matchLabels: {app: ratings}}, action: DENY, rules: [{}]}') +
      policy(
        'deny-reviews-x',
        '{selector: {matchLabels: {app: reviews}}, action: DENY, rules: [{to: [{operation: {paths: ["/x"]}}]}]}',
      ) +
      policy(
        'deny-root',
        '{action: DENY, rules: [{to: [{operation: {paths: ["/root-denied"]}}]}]}',
        'istio-system',
      ) +
      policy(
        'deny-root-selected',
        '{selector: {matchLabels: {version: v2}}, action: DENY, rules: [{to: [{operation: {paths: ["/v2-denied"]}}]}]}',
        'istio-system',
      ) +
      policy('deny-other-ns', '{action: DENY, rules: [{}]}', 'prod'),
    cases: [
      { name: 'selector for another workload is ignored', target: '/y', status: 200 },
      { name: 'selector for this workload applies', target: '/x', status: 403 },
      { name: 'root-namespace policy applies mesh-wide', target: '/root-denied', status: 403 },
      { name: 'root-namespace selector for other labels', target: '/v2-denied', status: 200 },
      { name: 'another namespace’s policy is ignored', target: '/z', status: 200 },
    ],
  },
  {
    name: 'AUDIT and dry-run are reported, never enforced',
    yaml:
      policy('audit-admin', '{action: AUDIT, rules: [{to: [{operation: {paths: ["/audited*"]}}]}]}') +
      policy(
        'dry-deny',
        '{action: DENY, rules: [{to: [{operation: {paths: ["/dry*"]}}]}]}',
        'default',
        ', annotations: {"istio.io/dry-run": "true"}',
      ),
    cases: [
      {
        name: 'audited request passes',
        target: '/audited/1',
        status: 200,
        audit: ['AuthorizationPolicy/default/audit-admin'],
      },
      { name: 'non-audited request', target: '/plain', status: 200, audit: [] },
      {
        name: 'dry-run DENY passes and is reported',
        target: '/dry',
        status: 200,
        dryRun: ['AuthorizationPolicy/default/dry-deny'],
      },
      {
        name: 'audited, not dry-run',
        target: '/audited/dry',
        status: 200,
        audit: ['AuthorizationPolicy/default/audit-admin'],
        dryRun: [],
      },
    ],
  },
  {
    name: 'CUSTOM with a provider missing from the mesh config denies',
    yaml: policy(
      'custom-missing',
      '{action: CUSTOM, provider: {name: nowhere}, rules: [{to: [{operation: {paths: ["/custom*"]}}]}]}',
    ),
    cases: [
      { name: 'custom path', target: '/custom/x', status: 403 },
      { name: 'other path', target: '/other', status: 200 },
    ],
  },
  {
    name: 'JWT: requestPrincipals and claims (inline jwks)',
    yaml:
      requestAuthentication +
      policy(
        'require-jwt',
        '{rules: [{from: [{source: {requestPrincipals: ["testing@secure.istio.io/*"]}}]}]}',
      ) +
      policy(
        'groups',
        '{action: DENY, rules: [{to: [{operation: {paths: ["/group2-only"]}}], when: [{key: "request.auth.claims[groups]", notValues: ["group2"]}]}]}',
      ),
    cases: [
      { name: 'no token: unauthenticated, denied by ALLOW', target: '/', status: 403 },
      { name: 'demo.jwt', target: '/', headers: [['authorization', `Bearer ${demoJwt}`]], status: 200 },
      { name: 'demo.jwt in access_token', target: `/?access_token=${demoJwt}`, status: 200 },
      {
        name: 'groups claim list matches',
        target: '/group2-only',
        headers: [['authorization', `Bearer ${groupsJwt}`]],
        status: 200,
      },
      {
        name: 'no groups claim is denied',
        target: '/group2-only',
        headers: [['authorization', `Bearer ${demoJwt}`]],
        status: 403,
      },
      {
        name: 'garbage token is 401',
        target: '/',
        headers: [['authorization', 'Bearer not.a.jwt']],
        status: 401,
      },
      {
        name: 'token under another scheme is not read',
        target: '/',
        headers: [['authorization', `Basic ${demoJwt}`]],
        status: 403,
      },
    ],
  },
]

const events: InboundDecisionEvent[] = []
let current: Snapshot
function use(yaml: string): void {
  const loaded = loadConfig([{ file: 'inbound.yaml', text: yaml || '' }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  current = compileSnapshot(loaded.resources)
}

let inbound: InboundPolicy
const servers: RunningServer[] = []
let grpcServer: RunningGrpc

beforeAll(async () => {
  use('')
  inbound = createInboundPolicy({
    snapshot: () => current,
    workload: { namespace: 'default', labels: { app: 'reviews', version: 'v1' } },
    onInboundDecision: (event) => events.push(event),
    logger: { error: () => {} },
  })
  servers.push(await startExpress(inbound), await startFastify(inbound))
  grpcServer = await startGrpc(inbound)
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await grpcServer?.close()
  await inbound?.close()
})

it('the table holds at least 80 authorization cases, 40 of them hostile', () => {
  const all = groups.flatMap((g) => g.cases)
  expect(all.length).toBeGreaterThanOrEqual(80)
  expect(all.filter((c) => c.hostile).length).toBeGreaterThanOrEqual(40)
})

describe.each(['express', 'fastify'] as const)('inbound conformance: %s', (adapter) => {
  for (const group of groups) {
    describe(group.name, () => {
      beforeAll(() => use(group.yaml))
      it.each(group.cases)('$name: $target → $status', async (c) => {
        const server = servers.find((s) => s.name === adapter) as RunningServer
        const host = c.host === undefined ? 'reviews.default' : c.host
        const headers: Header[] = host === null ? [] : [['Host', host]]
        events.length = 0
        const res = await rawRequest(server.port, c.method ?? 'GET', c.target, [
          ...headers,
          ...(c.headers ?? []),
        ])
        expect(res.status).toBe(c.status)
        if (c.status === 403) expect(res.body).toBe('RBAC: access denied')
        if (c.status === 200 && c.seen !== undefined && (c.method ?? 'GET') !== 'HEAD') {
          expect((JSON.parse(res.body) as Seen).url).toBe(c.seen)
        }
        if (c.status === 400) return
        const event = events.at(-1)
        expect(event?.verdict).toBe(c.status === 200 ? 'allow' : 'deny')
        if (c.audit) expect(event?.audit).toEqual(c.audit)
        if (c.dryRun) expect(event?.dryRun.map((d) => d.policy)).toEqual(c.dryRun)
      })
    })
  }
})

describe('inbound conformance: grpc-js (authorization)', () => {
  const grpcCases: readonly {
    group: number
    method: string
    metadata?: Record<string, string>
    code: number
  }[] = [
    { group: 1, method: 'Say', code: 0 },
    { group: 2, method: 'Say', code: 7 },
    { group: 3, method: 'Say', code: 7 },
    { group: 4, method: 'Say', code: 7 },
    { group: 4, method: 'Say', code: 7 },
    { group: 5, method: 'Say', code: 7 },
    { group: 6, method: 'Say', metadata: { 'x-team': 'blocked', 'x-env': 'prod' }, code: 7 },
    { group: 7, method: 'Say', code: 0 },
    { group: 8, method: 'Say', code: 0 },
    { group: 9, method: 'Say', code: 0 },
    { group: 6, method: 'Say', metadata: { 'x-env': 'prod' }, code: 0 },
    { group: 6, method: 'Say', metadata: { 'x-env': 'dev' }, code: 7 },
    { group: 0, method: 'Say', metadata: { 'x-block': 'yes' }, code: 7 },
    { group: 0, method: 'Say', metadata: { 'x-block': 'no' }, code: 0 },
    { group: 10, method: 'Say', code: 7 },
    { group: 10, method: 'Say', metadata: { authorization: `Bearer ${demoJwt}` }, code: 0 },
    { group: 10, method: 'Say', metadata: { authorization: 'Bearer not.a.jwt' }, code: 16 },
  ]
  it.each(grpcCases)('group $group, $method $metadata → code $code', async (c) => {
    use((groups[c.group] as Group).yaml)
    events.length = 0
    const result = await grpcServer.call(c.method, c.metadata)
    expect(result.code).toBe(c.code)
    expect(events.at(-1)?.protocol).toBe('grpc')
  })

  it('paths /pkg.Service/Method are matched as Istio matches them', async () => {
    use(
      policy(
        'deny-forbidden',
        '{action: DENY, rules: [{to: [{operation: {paths: ["/weft.test.Echo/Forbidden"], methods: ["POST"]}}]}]}',
      ),
    )
    expect((await grpcServer.call('Forbidden')).code).toBe(7)
    expect((await grpcServer.call('Say')).code).toBe(0)
    use(policy('allow-admin-only', '{rules: [{to: [{operation: {paths: ["/weft.test.Echo/Admin"]}}]}]}'))
    expect((await grpcServer.call('Admin')).code).toBe(0)
    expect((await grpcServer.call('Say')).code).toBe(7)
  })
})
