import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigInvalidError, type Diagnostic } from '@weft/config'
import { createMesh, type Mesh, MeshOptionsError } from '@weft/mesh'
import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUpstream, stopAll, type Upstream } from './support/upstreams.js'

const here = dirname(fileURLToPath(import.meta.url))
const bookinfo = join(process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../shared/istio'), 'bookinfo')
const istio = (file: string) => readFileSync(join(bookinfo, file), 'utf8')

const upstreams: Upstream[] = []
let mesh: Mesh | undefined

beforeAll(async () => {
  upstreams.push(...(await Promise.all(['v1', 'v2', 'v3'].map((v) => startUpstream(`reviews-${v}`)))))
}, 30_000)

afterAll(async () => {
  await mesh?.close()
  await stopAll(upstreams)
})

async function versions(m: Mesh, n: number, headers: Record<string, string> = {}): Promise<Set<string>> {
  const names = await Promise.all(
    Array.from({ length: n }, async () => {
      const res = await m.fetch('http://reviews:9080/reviews/0', { headers })
      return ((await res.json()) as { name: string }).name
    }),
  )
  return new Set(names)
}

function until<T>(check: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  return new Promise((resolvePromise, reject) => {
    const tick = async () => {
      const value = await check()
      if (value !== undefined) return resolvePromise(value)
      if (Date.now() > deadline) return reject(new Error('condition not met in time'))
      setTimeout(tick, 50)
    }
    void tick()
  })
}

describe('createMesh in standalone mode', () => {
  it('routes by local Istio YAML, hot-reloads a change, and refuses an invalid one keeping the old rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-mesh-'))
    writeFileSync(join(dir, 'destination-rules.yaml'), istio('destination-rule-all.yaml'))
    writeFileSync(join(dir, 'reviews.yaml'), istio('virtual-service-reviews-v3.yaml'))
    mesh = await createMesh({
      service: 'productpage',
      labels: { version: 'v1' },
      config: dir,
      registry: upstreams.map((u, i) => ({
        service: 'reviews',
        namespace: 'default',
        address: '127.0.0.1',
        port: u.port,
        labels: { app: 'reviews', version: `v${i + 1}` },
      })),
    })
    expect(await versions(mesh, 30)).toEqual(new Set(['reviews-v3']))

    const applied = new Promise((r) => mesh?.once('snapshot', r))
    writeFileSync(join(dir, 'reviews.yaml'), istio('virtual-service-reviews-jason-v2-v3.yaml'))
    await applied
    expect(await versions(mesh, 20, { 'end-user': 'jason' })).toEqual(new Set(['reviews-v2']))

    const refused = new Promise<readonly Diagnostic[]>((r) => mesh?.once('refused', r))
    writeFileSync(
      join(dir, 'reviews.yaml'),
      istio('virtual-service-reviews-v3.yaml').replace('subset: v3', 'subsets: v3'),
    )
    const diagnostics = await refused
    expect(diagnostics[0]).toMatchObject({
      code: 'WEFT_CONFIG_UNKNOWN_FIELD',
      field: 'spec.http[0].route[0].destination.subsets',
    })
    expect(await versions(mesh, 20, { 'end-user': 'jason' })).toEqual(new Set(['reviews-v2']))

    writeFileSync(join(dir, 'reviews.yaml'), istio('virtual-service-reviews-80-20.yaml'))
    await until(async () => ((await versions(mesh as Mesh, 40)).has('reviews-v1') ? true : undefined))
  })

  it('applies a change to annotations alone: a dry-run DENY policy, once enforced, denies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-mesh-'))
    const policy = (dryRun: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-delete
  annotations: {istio.io/dry-run: "${dryRun}"}
spec:
  selector: {matchLabels: {app: ratings}}
  action: DENY
  rules: [{to: [{operation: {methods: [DELETE]}}]}]
`
    writeFileSync(join(dir, 'policy.yaml'), policy('true'))
    const ratings = await createMesh({ service: 'ratings', config: dir })
    try {
      const app = express()
      app.use(ratings.express())
      app.use((_req, res) => {
        res.send('ok')
      })
      const { port } = await ratings.listen(app, { host: '127.0.0.1' })
      const remove = async () =>
        (await fetch(`http://127.0.0.1:${port}/ratings/1`, { method: 'DELETE' })).status
      expect(await remove()).toBe(200)
      writeFileSync(join(dir, 'policy.yaml'), policy('false'))
      await until(async () => ((await remove()) === 403 ? true : undefined))
    } finally {
      await ratings.close()
    }
  })

  it('refuses to start on an invalid config, listing every error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-mesh-'))
    writeFileSync(
      join(dir, 'bad.yaml'),
      istio('virtual-service-reviews-v3.yaml').replace('subset: v3', 'subsets: v3'),
    )
    await expect(createMesh({ service: 'productpage', config: dir })).rejects.toBeInstanceOf(
      ConfigInvalidError,
    )
  })

  it('says plainly what it needs', async () => {
    await expect(createMesh({ service: '' })).rejects.toBeInstanceOf(MeshOptionsError)
    const { WEFT_TOKEN, ...env } = process.env
    process.env = env
    try {
      await expect(createMesh({ service: 'x', controlPlane: 'http://127.0.0.1:15010' })).rejects.toThrow(
        /needs a workload token: pass `token` or set WEFT_TOKEN/,
      )
    } finally {
      if (WEFT_TOKEN !== undefined) process.env.WEFT_TOKEN = WEFT_TOKEN
    }
    await expect(
      createMesh({ service: 'x', controlPlane: 'http://127.0.0.1:15010', config: 'mesh/' }),
    ).rejects.toThrow(/either `controlPlane` or `config`/)
    // Nothing listens on port 1: no snapshot, and no cache to start from.
    await expect(
      createMesh({
        service: 'x',
        controlPlane: 'http://127.0.0.1:1',
        token: 'weft1.a.b',
        cacheDir: mkdtempSync(join(tmpdir(), 'weft-cache-')),
        startTimeoutMs: 300,
      }),
    ).rejects.toThrow(
      /no snapshot from the control plane at http:\/\/127\.0\.0\.1:1 within 300 ms, and none cached/,
    )
  })
})
