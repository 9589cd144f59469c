// The benchmark's server, in its own process: Fastify, bare (`plain`) or with Weft's inbound
// plugin (`mesh`) enforcing 100 AuthorizationPolicies and a JWT rule.
import { readFileSync } from 'node:fs'
import { compileSnapshot, loadConfig } from '@weft/config'
import Fastify from 'fastify'
import { createInboundPolicy } from '../dist/index.js'

const [mode, istio] = process.argv.slice(2)
const jwks = readFileSync(`${istio}/jwt/jwks.json`, 'utf8')

function config() {
  const docs = [
    `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  jwtRules:
  - issuer: testing@secure.istio.io
    jwks: ${JSON.stringify(jwks)}
`,
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-jwt, namespace: default}
spec:
  rules: [{from: [{source: {requestPrincipals: ["testing@secure.istio.io/*"]}}], to: [{operation: {methods: [GET]}}]}]
`,
  ]
  for (let i = 0; i < 99; i++) {
    docs.push(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-${i}, namespace: default}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ["/blocked/${i}/*"], methods: [POST, DELETE]}}]
    when: [{key: request.headers[x-tenant], values: ["tenant-${i}"]}]
`)
  }
  return compileSnapshot(loadConfig([{ file: 'bench.yaml', text: docs.join('---\n') }]).resources)
}

const app = Fastify()
let inbound
if (mode === 'mesh') {
  const snapshot = config()
  inbound = createInboundPolicy({
    snapshot: () => snapshot,
    workload: { namespace: 'default', labels: { app: 'bench' } },
  })
  await app.register(inbound.fastify())
}
app.get('/reviews/:id', async (request) => ({ id: request.params.id, ok: true }))
await app.listen({ port: 0, host: '127.0.0.1' })
process.send?.({ port: app.server.address().port })
process.on('disconnect', async () => {
  await app.close()
  await inbound?.close()
  process.exit(0)
})
