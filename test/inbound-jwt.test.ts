// Acceptance 3 of issue #5: RequestAuthentication through the Express and Fastify adapters, with
// Istio's own test tokens and keys, a real JWKS server (stopped and restarted mid-run) and
// inline keys; extra tokens are minted here with Istio's key.pem or keys generated here.
import { createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compileSnapshot, loadConfig, type Snapshot } from '@weft/config'
import { createInboundPolicy, type InboundPolicy } from '@weft/server'
import { base64url, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type JwksServer, startJwksServer } from './support/inbound-jwks-server.js'
import {
  type RunningServer,
  rawRequest,
  type Seen,
  startExpress,
  startFastify,
} from './support/inbound-servers.js'

const here = dirname(fileURLToPath(import.meta.url))
const istio = process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../shared/istio')
const jwks = readFileSync(join(istio, 'jwt/jwks.json'), 'utf8')
const demoJwt = readFileSync(join(istio, 'jwt/demo.jwt'), 'utf8').trim()
const groupsJwt = readFileSync(join(istio, 'jwt/groups-scope.jwt'), 'utf8').trim()
const istioKey = createPrivateKey(readFileSync(join(istio, 'jwt/key.pem'), 'utf8'))
const kid = (JSON.parse(jwks) as { keys: { kid: string }[] }).keys[0]?.kid as string
const ISSUER = 'testing@secure.istio.io'

const now = () => Math.floor(Date.now() / 1000)
function mint(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key: CryptoKey | object = istioKey,
) {
  return new SignJWT({ iss: ISSUER, sub: 'minted', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid, ...header })
    .sign(key as CryptoKey)
}

function rules(keys: string, extra = ''): string {
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  jwtRules:
  - issuer: ${ISSUER}
    ${keys}
    outputPayloadToHeader: x-jwt-payload
    outputClaimToHeaders: [{header: x-foo, claim: foo}]
${extra}`
}

let current: Snapshot
function use(yaml: string): void {
  const loaded = loadConfig([{ file: 'jwt.yaml', text: yaml }])
  expect(loaded.diagnostics.filter((d) => d.severity === 'error')).toEqual([])
  current = compileSnapshot(loaded.resources)
}

let jwksServer: JwksServer
let inbound: InboundPolicy
const servers: RunningServer[] = []
const tokens: Record<string, string> = {}

beforeAll(async () => {
  jwksServer = await startJwksServer(jwks)
  use(rules(`jwksUri: ${jwksServer.uri}`))
  inbound = createInboundPolicy({
    snapshot: () => current,
    workload: { namespace: 'default', labels: { app: 'reviews' } },
    jwt: { jwksCacheMaxAgeMs: 400, jwksFailedRefetchMs: 100, jwksCooldownMs: 100 },
    logger: { error: () => {} },
  })
  servers.push(await startExpress(inbound), await startFastify(inbound))
  const other = await generateKeyPair('RS256')
  tokens.expired = await mint({ exp: now() - 600 })
  tokens.withinSkew = await mint({ exp: now() - 20 })
  tokens.notYet = await mint({ nbf: now() + 600, exp: now() + 3600 })
  tokens.wrongIssuer = await new SignJWT({ iss: 'someone@else', sub: 'x' })
    .setProtectedHeader({ alg: 'RS256', kid })
    .sign(istioKey)
  tokens.wrongAudience = await mint({ aud: 'other-service', exp: now() + 3600 })
  tokens.rightAudience = await mint({ aud: 'reviews', exp: now() + 3600 })
  tokens.unknownKid = await mint({ exp: now() + 3600 }, { kid: 'not-in-the-jwks' }, other.privateKey)
  tokens.otherKeySameKid = await mint({ exp: now() + 3600 }, {}, other.privateKey)
  tokens.none = new UnsecuredJWT({ iss: ISSUER, sub: 'x' }).encode()
  const [h, p, s] = demoJwt.split('.') as [string, string, string]
  const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p)))
  tokens.tampered = `${h}.${base64url.encode(JSON.stringify({ ...payload, sub: 'admin' }))}.${s}`
})

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await inbound?.close()
  await jwksServer?.stop()
})

async function get(server: RunningServer, headers: [string, string][] = [], target = '/') {
  return rawRequest(server.port, 'GET', target, [['Host', 'reviews.default'], ...headers])
}
const bearer = (token: string): [string, string] => ['authorization', `Bearer ${token}`]

describe.each([0, 1])('RequestAuthentication through adapter %i (0 express, 1 fastify)', (index) => {
  const server = () => servers[index] as RunningServer

  it.each([
    ['demo.jwt', () => demoJwt],
    ['groups-scope.jwt', () => groupsJwt],
  ])('%s verifies with the JWKS served over HTTP: token removed, outputs set', async (_name, token) => {
    use(rules(`jwksUri: ${jwksServer.uri}`))
    const res = await get(server(), [bearer(token()), ['x-jwt-payload', 'spoofed']])
    expect(res.status).toBe(200)
    const seen = JSON.parse(res.body) as Seen
    expect(seen.headers.authorization).toBeUndefined()
    expect(seen.headers['x-jwt-payload']).toBe(token().split('.')[1])
    expect(seen.weft).toMatchObject({ requestPrincipal: `${ISSUER}/${ISSUER}` })
  })

  it('demo.jwt verifies with inline keys, outputClaimToHeaders copies a string claim', async () => {
    use(rules(`jwks: ${JSON.stringify(jwks)}`))
    const res = await get(server(), [bearer(demoJwt)])
    expect(res.status).toBe(200)
    expect((JSON.parse(res.body) as Seen).headers['x-foo']).toBe('bar')
  })

  it('a spoofed output header without a token is removed', async () => {
    use(rules(`jwks: ${JSON.stringify(jwks)}`))
    const res = await get(server(), [
      ['x-jwt-payload', 'spoofed'],
      ['x-foo', 'spoofed'],
    ])
    expect(res.status).toBe(200)
    const seen = JSON.parse(res.body) as Seen
    expect(seen.headers['x-jwt-payload']).toBeUndefined()
    expect(seen.headers['x-foo']).toBeUndefined()
  })

  it('forwardOriginalToken keeps the token for the application', async () => {
    use(rules(`jwks: ${JSON.stringify(jwks)}\n    forwardOriginalToken: true`))
    const res = await get(server(), [bearer(demoJwt)])
    expect(res.status).toBe(200)
    expect((JSON.parse(res.body) as Seen).headers.authorization).toBe(`Bearer ${demoJwt}`)
  })

  it.each([
    ['expired', 'expired', 'Jwt is expired'],
    ['not yet valid', 'notYet', 'Jwt not yet valid'],
    ['wrong issuer', 'wrongIssuer', 'Jwt issuer is not configured'],
    ['alg: none', 'none', 'Jwt algorithm is not supported'],
    ['unknown kid', 'unknownKid', "Jwks doesn't have key to match kid or alg from Jwt"],
    ['signed by another key under the known kid', 'otherKeySameKid', 'Jwt verification fails'],
    ['tampered payload', 'tampered', 'Jwt verification fails'],
  ])('%s → 401 with Envoy’s challenge', async (_name, key, body) => {
    use(rules(`jwksUri: ${jwksServer.uri}`))
    const res = await get(server(), [bearer(tokens[key] as string)])
    expect(res.status).toBe(401)
    expect(res.body).toBe(body)
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="http://reviews.default/", error="invalid_token"',
    )
  })

  it('an exp within the 60 s clock skew is accepted', async () => {
    use(rules(`jwksUri: ${jwksServer.uri}`))
    expect((await get(server(), [bearer(tokens.withinSkew as string)])).status).toBe(200)
  })

  it('audiences: a token for another audience → 401, for this one → 200', async () => {
    use(rules(`jwksUri: ${jwksServer.uri}\n    audiences: [reviews, reviews.default]`))
    const wrong = await get(server(), [bearer(tokens.wrongAudience as string)])
    expect(wrong.status).toBe(401)
    expect(wrong.body).toBe('Audiences in Jwt are not allowed')
    expect((await get(server(), [bearer(tokens.rightAudience as string)])).status).toBe(200)
    // Istio's demo token has no aud at all.
    expect((await get(server(), [bearer(demoJwt)])).status).toBe(401)
  })

  it('fromHeaders/fromParams: a token where no rule reads is not seen', async () => {
    const located = rules(
      `jwks: ${JSON.stringify(jwks)}\n    fromHeaders: [{name: x-jwt}]\n    fromParams: [tok]`,
    )
    use(located)
    expect((await get(server(), [['x-jwt', demoJwt]])).status).toBe(200)
    expect((await get(server(), [], `/?tok=${demoJwt}`)).status).toBe(200)
    // In Authorization, where this rule does not read: unauthenticated, passes (Istio's OPTIONAL).
    const ignored = await get(server(), [bearer('garbage')])
    expect(ignored.status).toBe(200)
    expect(
      (JSON.parse(ignored.body) as { weft: { requestPrincipal?: string } }).weft.requestPrincipal,
    ).toBeUndefined()
    // With presence REQUIRED, the same request is refused: the token is in the wrong place.
    use(located.replace('fromParams: [tok]', 'fromParams: [tok]\n    presence: REQUIRED'))
    const wrongPlace = await get(server(), [bearer(demoJwt)])
    expect(wrongPlace.status).toBe(401)
    expect(wrongPlace.body).toBe('Jwt is missing')
    expect(wrongPlace.headers['www-authenticate']).toBe('Bearer realm="http://reviews.default/"')
  })

  it('a bad token under a header prefix that does not match is not read; under the right one it is', async () => {
    use(rules(`jwks: ${JSON.stringify(jwks)}\n    fromHeaders: [{name: x-auth, prefix: "Token "}]`))
    expect((await get(server(), [['x-auth', `Bearer ${tokens.expired}`]])).status).toBe(200)
    expect((await get(server(), [['x-auth', `Token ${tokens.expired}`]])).status).toBe(401)
    expect((await get(server(), [['x-auth', `Token ${demoJwt}`]])).status).toBe(200)
  })
})

describe('JWKS availability (fail closed, then recover)', () => {
  const server = () => servers[0] as RunningServer
  const waitMs = (ms: number) => new Promise((r) => setTimeout(r, ms))

  it('down at start: tokens are refused, then accepted once the JWKS server answers', async () => {
    const late = await startJwksServer(jwks)
    const port = late.port
    await late.stop()
    use(rules(`jwksUri: http://127.0.0.1:${port}/jwks`).replace('name: jwt,', 'name: jwt-late,'))
    const refused = await get(server(), [bearer(demoJwt)])
    expect(refused.status).toBe(401)
    expect(refused.body).toBe('Jwks remote fetch is failed')
    // Without a token the request is still unauthenticated, not refused.
    expect((await get(server())).status).toBe(200)
    const back = await startJwksServer(jwks, port)
    try {
      let status = 0
      for (let i = 0; i < 50 && status !== 200; i++) {
        await waitMs(100)
        status = (await get(server(), [bearer(demoJwt)])).status
      }
      expect(status).toBe(200)
    } finally {
      await back.stop()
    }
  })

  it('down mid-run: once the cached key set is stale tokens are refused, then accepted again', async () => {
    use(rules(`jwksUri: ${jwksServer.uri}`).replace('name: jwt,', 'name: jwt-mid,'))
    expect((await get(server(), [bearer(groupsJwt)])).status).toBe(200)
    await jwksServer.stop()
    try {
      let status = 200
      for (let i = 0; i < 50 && status !== 401; i++) {
        await waitMs(100)
        status = (await get(server(), [bearer(groupsJwt)])).status
      }
      expect(status).toBe(401)
    } finally {
      await jwksServer.start()
    }
    let status = 0
    for (let i = 0; i < 50 && status !== 200; i++) {
      await waitMs(100)
      status = (await get(server(), [bearer(groupsJwt)])).status
    }
    expect(status).toBe(200)
  })
})
