import type { RequestAuthentication } from '@weft/config'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { createJwtAuthenticator, type JwtAuthenticator } from './jwt-authenticator.js'
import type { JwtOutcome } from './jwt-outcome.js'

const ISSUER = 'https://issuer.test'
let key: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']
let authenticator: JwtAuthenticator
let token: string

function policy(jwtRules: NonNullable<RequestAuthentication['spec']['jwtRules']>): RequestAuthentication {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'RequestAuthentication',
    metadata: { name: 'jwt', namespace: 'default' },
    spec: { jwtRules },
  } as RequestAuthentication
}

beforeAll(async () => {
  const pair = await generateKeyPair('ES256')
  key = pair.privateKey
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }
  const jwks = JSON.stringify({ keys: [jwk] })
  authenticator = createJwtAuthenticator([
    policy([
      {
        issuer: ISSUER,
        jwks,
        fromHeaders: [{ name: 'Authorization', prefix: 'Bearer ' }, { name: 'x-jwt' }],
        fromCookies: ['session'],
      },
    ]),
  ])
  token = await new SignJWT({ scope: 'read write', sub: 'alice' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setExpirationTime('1h')
    .sign(key)
})

const resolve = async (outcome: JwtOutcome | Promise<JwtOutcome>) => outcome

describe('JwtAuthenticator', () => {
  it.each([
    ['no token', {}, 'none'],
    ['Authorization Bearer', { authorization: 'Bearer TOKEN' }, 'valid'],
    ['prefix compared ignoring case', { authorization: 'bearer TOKEN' }, 'valid'],
    ['another scheme is not read', { authorization: 'Basic TOKEN' }, 'none'],
    ['custom header without prefix', { 'x-jwt': 'TOKEN' }, 'valid'],
    ['cookie', { cookie: 'a=b; session=TOKEN' }, 'valid'],
    ['access_token is not read when locations are named', { 'x-other': 'TOKEN' }, 'none'],
    ['garbage', { authorization: 'Bearer garbage' }, 'invalid'],
    [
      'a valid token beside a bad one (requires_any)',
      { authorization: ['Bearer garbage', 'Bearer TOKEN'] },
      'valid',
    ],
  ])('%s → %s', async (_name, headers, kind) => {
    const filled = Object.fromEntries(
      Object.entries(headers).map(([n, v]) => [
        n,
        Array.isArray(v) ? v.map((x) => x.replace('TOKEN', token)) : (v as string).replace('TOKEN', token),
      ]),
    )
    const outcome = await resolve(authenticator.authenticate({ headers: filled, query: '' }))
    expect(outcome.kind).toBe(kind)
  })

  it('splits scope into a list and names the principal iss/sub', async () => {
    const outcome = await resolve(
      authenticator.authenticate({ headers: { authorization: `Bearer ${token}` }, query: '' }),
    )
    expect(outcome).toMatchObject({
      kind: 'valid',
      principal: `${ISSUER}/alice`,
      claims: { scope: ['read', 'write'] },
      removeHeaders: ['authorization'],
    })
  })

  it('answers a verified token again synchronously from its cache', async () => {
    const request = { headers: { 'x-jwt': token }, query: '' }
    await resolve(authenticator.authenticate(request))
    const again = authenticator.authenticate(request)
    expect(again).not.toBeInstanceOf(Promise)
    expect((again as JwtOutcome).kind).toBe('valid')
  })

  it('does not answer from the cache once the token has expired', async () => {
    const request = { headers: { 'x-jwt': token }, query: '' }
    await resolve(authenticator.authenticate(request))
    const later = Date.now() + 2 * 3600_000
    const outcome = authenticator.authenticate(request, later)
    expect(outcome).toBeInstanceOf(Promise)
    expect(await outcome).toMatchObject({ kind: 'invalid', error: { code: 'WEFT_JWT_EXPIRED' } })
  })

  it('default locations: Authorization Bearer and access_token', async () => {
    const defaults = createJwtAuthenticator([policy([{ issuer: ISSUER, jwks: '{"keys":[]}' }])])
    expect(defaults.locations.map((l) => l.key)).toEqual([
      'header:authorization:Bearer ',
      'param:access_token',
    ])
    const outcome = await resolve(defaults.authenticate({ headers: {}, query: `?access_token=${token}` }))
    expect(outcome).toMatchObject({ kind: 'invalid', error: { code: 'WEFT_JWT_UNKNOWN_KEY' } })
  })

  it('an inline jwks that is not a key set refuses tokens instead of throwing', async () => {
    const broken = createJwtAuthenticator([policy([{ issuer: ISSUER, jwks: 'not json' }])])
    const outcome = await resolve(
      broken.authenticate({ headers: { authorization: `Bearer ${token}` }, query: '' }),
    )
    expect(outcome).toMatchObject({ kind: 'invalid', error: { code: 'WEFT_JWT_JWKS_INVALID' } })
  })

  it('a rule with no keys at all is refused at compile time', () => {
    expect(() => createJwtAuthenticator([policy([{ issuer: ISSUER }])])).toThrow(/neither jwks nor jwksUri/)
  })
})
