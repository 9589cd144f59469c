#!/usr/bin/env node
// Mutual TLS vs plaintext through Weft's inbound listener, measured side by side and interleaved
// (A B A B …) so that the machine's drift cancels: the rate of new connections (each one
// handshake and one request), and the throughput of requests over kept-alive connections
// (an undici Pool). The server runs in a child process (this file with --serve), as a peer would.
// Run: pnpm build && node packages/server/bench/mtls.bench.mjs [-o json]
import { fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { CertificateAuthority, createWorkloadIdentity, FileCaStore, mtlsClientOptions } from '@weft/identity'
import { Pool } from 'undici'
import { createInboundListener } from '../dist/index.js'

const ROUNDS = 4
const ROUND_MS = 1500
const WARM_UP_MS = 500
const HANDSHAKE_CALLERS = 8
const POOL_CONNECTIONS = 8
const POOL_CALLERS = 16
const BODY = JSON.stringify({ ok: true, service: 'reviews' })

function identityFrom(ca, serviceAccount) {
  return createWorkloadIdentity({
    requestCertificate: (csrPem) => ca.sign(csrPem, { namespace: 'default', serviceAccount }),
    trustBundle: ca.trustBundlePem,
  })
}

if (process.argv[2] === '--serve') {
  // The server: one STRICT and one DISABLE listener, with the same handler.
  const ca = await CertificateAuthority.open({ store: new FileCaStore(process.argv[3]) })
  const identity = await identityFrom(ca, 'reviews')
  const handler = (req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) })
      res.end(BODY)
    })
  }
  const mtls = createInboundListener(handler, { mtlsMode: () => 'STRICT', identity })
  const plain = createInboundListener(handler, { mtlsMode: () => 'DISABLE' })
  for (const l of [mtls, plain]) l.httpServer.keepAliveTimeout = 60_000
  const ports = {
    mtls: (await mtls.listen(0, '127.0.0.1')).port,
    plain: (await plain.listen(0, '127.0.0.1')).port,
  }
  process.send?.(ports)
  process.on('disconnect', async () => {
    identity.close()
    await Promise.all([mtls.close(100), plain.close(100)])
    process.exit(0)
  })
} else {
  await main()
}

async function main() {
  const json = process.argv.includes('-o') && process.argv[process.argv.indexOf('-o') + 1] === 'json'
  const dir = await mkdtemp(join(tmpdir(), 'weft-mtls-bench-'))
  const ca = await CertificateAuthority.open({ store: new FileCaStore(dir) })
  const client = await identityFrom(ca, 'productpage')
  const server = fork(fileURLToPath(import.meta.url), ['--serve', dir], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const ports = await new Promise((resolve) => server.once('message', resolve))
  const tlsOptions = mtlsClientOptions(client, {
    expectedIds: ['spiffe://cluster.local/ns/default/sa/reviews'],
  })
  const request = 'GET /reviews/0 HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n'

  /** One new connection, one request, read to the end. */
  const oneConnection = (open) =>
    new Promise((resolve, reject) => {
      const socket = open()
      let bytes = 0
      socket.on('data', (d) => {
        bytes += d.length
      })
      socket.on('end', () => (bytes > 0 ? resolve() : reject(new Error('empty reply'))))
      socket.on('error', reject)
    })
  const connects = {
    'new mTLS connections': () =>
      oneConnection(() => {
        const s = tlsConnect({ ...tlsOptions, host: '127.0.0.1', port: ports.mtls }, () => s.write(request))
        return s
      }),
    'new plaintext connections': () =>
      oneConnection(() => {
        const s = netConnect(ports.plain, '127.0.0.1', () => s.write(request))
        return s
      }),
  }

  const mtlsPool = new Pool(`https://127.0.0.1:${ports.mtls}`, {
    connections: POOL_CONNECTIONS,
    connect: tlsOptions,
  })
  const plainPool = new Pool(`http://127.0.0.1:${ports.plain}`, { connections: POOL_CONNECTIONS })
  const fetchOver = (pool) => async () => {
    const res = await pool.request({ method: 'GET', path: '/reviews/0' })
    await res.body.dump()
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`)
  }
  const requests = {
    'kept-alive mTLS': fetchOver(mtlsPool),
    'kept-alive plaintext': fetchOver(plainPool),
  }

  async function round(call, callers, ms = ROUND_MS) {
    const end = performance.now() + ms
    let count = 0
    const worker = async () => {
      while (performance.now() < end) {
        await call()
        count++
      }
    }
    const started = performance.now()
    await Promise.all(Array.from({ length: callers }, worker))
    return count / ((performance.now() - started) / 1000)
  }

  /** A warm-up round of each, then interleaved rounds; the mean rate of each. */
  async function compare(variants, callers, label) {
    const rates = Object.fromEntries(Object.keys(variants).map((k) => [k, []]))
    for (const call of Object.values(variants)) await round(call, callers, WARM_UP_MS)
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, call] of Object.entries(variants)) {
        process.stderr.write(`  ${label}, round ${r + 1}/${ROUNDS}: ${name}          \r`)
        rates[name].push(await round(call, callers))
      }
    }
    return Object.entries(rates).map(([name, r]) => ({
      name,
      callers,
      perSecond: Math.round(r.reduce((a, b) => a + b, 0) / r.length),
    }))
  }

  const handshakes = await compare(connects, HANDSHAKE_CALLERS, 'handshakes')
  const steady = await compare(requests, POOL_CALLERS, 'kept-alive')
  process.stderr.write(`${' '.repeat(70)}\r`)
  await Promise.all([mtlsPool.close(), plainPool.close()])
  client.close()
  server.disconnect()
  await new Promise((resolve) => server.once('exit', resolve))
  await rm(dir, { recursive: true, force: true })

  const summary = {
    handshakeRatio: +(handshakes[0].perSecond / handshakes[1].perSecond).toFixed(3),
    keptAliveRatio: +(steady[0].perSecond / steady[1].perSecond).toFixed(3),
  }
  if (json) {
    console.log(
      JSON.stringify(
        { rounds: ROUNDS, roundMs: ROUND_MS, rows: [...handshakes, ...steady], summary },
        null,
        2,
      ),
    )
    return
  }
  console.log(
    `mTLS vs plaintext through the inbound listener: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms each`,
  )
  console.log('what                         callers     per second')
  for (const r of [...handshakes, ...steady]) {
    console.log(`${r.name.padEnd(28)} ${String(r.callers).padStart(7)}  ${String(r.perSecond).padStart(12)}`)
  }
  console.log(`new connections, mTLS / plaintext:     ${summary.handshakeRatio}`)
  console.log(`kept-alive requests, mTLS / plaintext: ${summary.keptAliveRatio}`)
}
