#!/usr/bin/env node
// Plain Fastify vs Fastify with Weft's inbound plugin (100 AuthorizationPolicies, a JWT rule, a
// warm token), each server in its own process, loaded by autocannon from this one, interleaved
// (A B A B …) so that the machine's drift cancels. The ratio is the median of each mesh round's
// ratio to the plain round just before it, as the dispatcher benchmark takes its own: with the
// load generator and both servers on two shared cores a round moves by ±20 %, and the mean of
// three rounds each followed it. Then JWT verification with a warm cache, timed in this process.
// Targets (issue #5): ≥ 0.90 of plain throughput; warm JWT verification < 5 µs.
// Run: pnpm build && node packages/server/bench/fastify.bench.mjs [-o json]
import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '@weft/config'
import { createJwtAuthenticator } from '@weft/identity'
import autocannon from 'autocannon'

const json = process.argv.includes('-o') && process.argv[process.argv.indexOf('-o') + 1] === 'json'
const ROUNDS = 8
const ROUND_S = 2
const CONNECTIONS = 32
const root = fileURLToPath(new URL('../../../', import.meta.url))
const istio = process.env.WEFT_ISTIO_DIR ?? `${root}../shared/istio`
const token = readFileSync(`${istio}/jwt/demo.jwt`, 'utf8').trim()

async function start(mode) {
  const child = fork(fileURLToPath(new URL('./fastify-server.mjs', import.meta.url)), [mode, istio], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.port))
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)))
  })
  return { mode, port, child }
}

function run(port, duration) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${port}/reviews/1`,
        connections: CONNECTIONS,
        duration,
        headers: { authorization: `Bearer ${token}` },
      },
      (error, result) => {
        if (error) return reject(error)
        if (result.non2xx > 0) return reject(new Error(`${result.non2xx} non-2xx answers`))
        resolve(result.requests.average)
      },
    )
  })
}

const servers = [await start('plain'), await start('mesh')]
const rps = { plain: [], mesh: [] }
for (const s of servers) await run(s.port, 1)
for (let r = 0; r < ROUNDS; r++) {
  for (const s of servers) {
    process.stderr.write(`  round ${r + 1}/${ROUNDS}: ${s.mode}      \r`)
    rps[s.mode].push(await run(s.port, ROUND_S))
  }
}
process.stderr.write(`${' '.repeat(40)}\r`)
for (const s of servers) s.child.disconnect()

// Warm JWT verification: the same jwtRule, the same token, the verified-token cache warm.
const yaml = `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: default}
spec:
  jwtRules:
  - issuer: testing@secure.istio.io
    jwks: ${JSON.stringify(readFileSync(`${istio}/jwt/jwks.json`, 'utf8'))}
`
const authenticator = createJwtAuthenticator(loadConfig([{ file: 'jwt.yaml', text: yaml }]).resources)
const request = { headers: { authorization: `Bearer ${token}` }, query: '' }
const first = await authenticator.authenticate(request)
if (first.kind !== 'valid') throw new Error(`demo.jwt did not verify: ${first.kind}`)
const N = 200_000
for (let i = 0; i < N; i++) authenticator.authenticate(request)
const t0 = process.hrtime.bigint()
for (let i = 0; i < N; i++) {
  if (authenticator.authenticate(request).kind !== 'valid') throw new Error('cache miss')
}
const jwtUs = Number(process.hrtime.bigint() - t0) / 1000 / N

/** The median; of an even count, the mean of the middle two, so that neither side is favoured. */
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const plain = Math.round(median(rps.plain))
const mesh = Math.round(median(rps.mesh))
const pairs = rps.mesh.map((m, i) => m / rps.plain[i])
const ratio = +median(pairs).toFixed(3)
const ratioRange = [Math.min(...pairs), Math.max(...pairs)].map((r) => +r.toFixed(2))
if (json) {
  console.log(
    JSON.stringify(
      {
        rounds: ROUNDS,
        roundS: ROUND_S,
        connections: CONNECTIONS,
        plain,
        mesh,
        ratio,
        ratioRange,
        roundsRps: rps,
        jwtUs,
      },
      null,
      2,
    ),
  )
} else {
  console.log(
    `Fastify vs Fastify + Weft inbound: ${ROUNDS} interleaved rounds of ${ROUND_S} s, ${CONNECTIONS} connections`,
  )
  console.log(`  plain Fastify           ${String(plain).padStart(8)} req/s (median round)`)
  console.log(`  Fastify + mesh plugin   ${String(mesh).padStart(8)} req/s (median round)`)
  console.log(
    `  ratio, median of ${ROUNDS} rounds each beside its plain round: ${ratio} (target ≥ 0.90: ${ratio >= 0.9 ? 'met' : 'MISSED'}); rounds ranged ${ratioRange.join('–')}`,
  )
  console.log(
    `JWT verification, warm cache: ${jwtUs.toFixed(2)} µs (target < 5: ${jwtUs < 5 ? 'met' : 'MISSED'})`,
  )
}
