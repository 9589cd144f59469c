// CUSTOM AuthorizationPolicy against a real external authorizer over HTTP (Envoy's ext_authz HTTP
// contract), through Express, Fastify and gRPC: allow, deny with the authorizer's own answer,
// and the authorizer down → deny (fail closed) unless failOpen.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { createInboundPolicy, type InboundPolicy } from '@weft/server'
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

const yaml = (provider: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: default}
spec:
  action: CUSTOM
  provider: {name: ${provider}}
  rules: [{to: [{operation: {notPaths: ["/open"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-admin, namespace: default}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin"]}}]}]
`

let checks: { method: string; url: string; headers: IncomingMessage['headers'] }[] = []
let authorizer: Server
let authorizerPort = 0
let deadPort = 0
let current: Snapshot
let inbound: InboundPolicy
const servers: RunningServer[] = []
let grpcServer: RunningGrpc

function use(provider: string): void {
  const loaded = loadConfig([{ file: 'ext.yaml', text: yaml(provider) }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  current = compileSnapshot(loaded.resources)
}

beforeAll(async () => {
  authorizer = createServer((req, res) => {
    checks.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    if (req.headers['x-allow'] === 'yes') {
      res.writeHead(200, { 'x-authz-user': 'alice', 'x-authz-secret': 'not-for-upstream' })
      res.end()
    } else {
      res.writeHead(451, { 'content-type': 'application/json', 'x-reason': 'geo', 'x-internal': 'hidden' })
      res.end('{"denied":true}')
    }
  })
  await new Promise<void>((resolve) => authorizer.listen(0, '127.0.0.1', resolve))
  authorizerPort = (authorizer.address() as AddressInfo).port
  const dead = createServer()
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve))
  deadPort = (dead.address() as AddressInfo).port
  await new Promise<void>((resolve) => dead.close(() => resolve()))
  use('authz')
  const common = {
    includeRequestHeadersInCheck: ['x-allow'],
    headersToUpstreamOnAllow: ['x-authz-user'],
    headersToDownstreamOnDeny: ['x-reason', 'content-type'],
  }
  inbound = createInboundPolicy({
    snapshot: () => current,
    workload: { namespace: 'default', labels: { app: 'reviews' } },
    meshConfig: {
      extensionProviders: [
        {
          name: 'authz',
          envoyExtAuthzHttp: {
            service: '127.0.0.1',
            port: authorizerPort,
            pathPrefix: '/check',
            timeout: '2s',
            ...common,
          },
        },
        { name: 'down', envoyExtAuthzHttp: { service: '127.0.0.1', port: deadPort, timeout: '2s' } },
        {
          name: 'down-503',
          envoyExtAuthzHttp: { service: '127.0.0.1', port: deadPort, statusOnError: '503' },
        },
        { name: 'down-open', envoyExtAuthzHttp: { service: '127.0.0.1', port: deadPort, failOpen: true } },
      ],
    },
    logger: { error: () => {} },
  })
  servers.push(await startExpress(inbound), await startFastify(inbound))
  grpcServer = await startGrpc(inbound)
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await grpcServer?.close()
  await inbound?.close()
  await new Promise<void>((resolve) => authorizer?.close(() => resolve()))
})

describe.each([0, 1])('CUSTOM through adapter %i (0 express, 1 fastify)', (i) => {
  const port = () => (servers[i] as RunningServer).port

  it('200 from the authorizer allows and copies headersToUpstreamOnAllow', async () => {
    use('authz')
    checks = []
    const res = await rawRequest(port(), 'PUT', '/a/../items?x=1', [
      ['Host', 'reviews:9080'],
      ['x-allow', 'yes'],
      ['x-other', 'not sent'],
    ])
    expect(res.status).toBe(200)
    const seen = JSON.parse(res.body) as Seen
    expect(seen.headers['x-authz-user']).toBe('alice')
    expect(seen.headers['x-authz-secret']).toBeUndefined()
    expect(checks).toHaveLength(1)
    expect(checks[0]).toMatchObject({ method: 'PUT', url: '/check/items?x=1' })
    expect(checks[0]?.headers.host).toBe('reviews:9080')
    expect(checks[0]?.headers['x-allow']).toBe('yes')
    expect(checks[0]?.headers['x-other']).toBeUndefined()
  })

  it('anything else denies with the authorizer’s status, body and allowed headers', async () => {
    use('authz')
    const res = await rawRequest(port(), 'GET', '/items', [['Host', 'reviews']])
    expect(res.status).toBe(451)
    expect(res.body).toBe('{"denied":true}')
    expect(res.headers['x-reason']).toBe('geo')
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.headers['x-internal']).toBeUndefined()
  })

  it('CUSTOM is asked first; DENY still applies after it allows; unmatched paths skip it', async () => {
    use('authz')
    checks = []
    expect(
      (
        await rawRequest(port(), 'GET', '/admin', [
          ['Host', 'r'],
          ['x-allow', 'yes'],
        ])
      ).status,
    ).toBe(403)
    expect(checks).toHaveLength(1)
    expect((await rawRequest(port(), 'GET', '/open', [['Host', 'r']])).status).toBe(200)
    expect(checks).toHaveLength(1)
  })

  it.each([
    ['down', 403],
    ['down-503', 503],
    ['down-open', 200],
  ])('authorizer %s → %i', async (provider, status) => {
    use(provider)
    expect(
      (
        await rawRequest(port(), 'GET', '/items', [
          ['Host', 'r'],
          ['x-allow', 'yes'],
        ])
      ).status,
    ).toBe(status)
  })
})

it('gRPC: allowed, denied (451 → UNKNOWN as Envoy maps it), authorizer down → PERMISSION_DENIED', async () => {
  use('authz')
  checks = []
  expect((await grpcServer.call('Say', { 'x-allow': 'yes' })).code).toBe(0)
  expect(checks[0]).toMatchObject({ method: 'POST', url: '/check/weft.test.Echo/Say' })
  expect((await grpcServer.call('Say')).code).toBe(2)
  use('down')
  expect((await grpcServer.call('Say', { 'x-allow': 'yes' })).code).toBe(7)
})
