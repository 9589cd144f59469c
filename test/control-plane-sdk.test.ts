import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '@weft/config'
import { type ControlPlane, startControlPlane } from '@weft/control-plane'
import { createMesh, type Mesh } from '@weft/mesh'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callApi, until as waitFor } from './support/control-plane-api.js'
import { type ControlPlaneProcess, startControlPlaneProcess } from './support/control-plane-process.js'
import { startUpstream, stopAll, type Upstream } from './support/upstreams.js'

const here = dirname(fileURLToPath(import.meta.url))
const bookinfo = join(process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../shared/istio'), 'bookinfo')

const upstreams: Upstream[] = []
const dirs: string[] = []

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

const api = callApi

const until = (check: () => Promise<boolean> | boolean, timeoutMs = 5000) => waitFor(check, timeoutMs)

/** Which reviews answered, or what the mesh answered instead (`503 no healthy upstream`). */
async function version(mesh: Mesh): Promise<string> {
  const res = await mesh.fetch('http://reviews:9080/reviews/0')
  const text = await res.text()
  return res.status === 200 ? (JSON.parse(text) as { name: string }).name : `${res.status} ${text}`
}

async function register(url: string, token: string, u: Upstream, v: string) {
  const r = await api(url, token, 'POST', '/api/v1/endpoints', {
    service: 'reviews',
    namespace: 'default',
    address: '127.0.0.1',
    port: u.port,
    labels: { app: 'reviews', version: v },
  })
  expect(r.status).toBe(201)
}

beforeAll(async () => {
  upstreams.push(
    ...(await Promise.all(['reviews-v1', 'reviews-v2', 'reviews-v3'].map((n) => startUpstream(n)))),
  )
}, 30_000)

afterAll(async () => {
  await stopAll(upstreams)
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

describe('SDK ↔ control plane (in-process control plane)', () => {
  let cp: ControlPlane
  let admin: string
  let token: string
  const meshes: Mesh[] = []

  beforeAll(async () => {
    cp = await startControlPlane({ port: 0, dataDir: await tempDir('weft-cp-sdk-') })
    admin = (await readFile(cp.adminTokenFile as string, 'utf8')).trim()
    token = cp.credentials.issue('default', 'bookinfo-productpage')
    const rules = await readFile(join(bookinfo, 'destination-rule-all.yaml'), 'utf8')
    const v1 = await readFile(join(bookinfo, 'virtual-service-all-v1.yaml'), 'utf8')
    expect((await api(cp.url, admin, 'POST', '/api/v1/apply', `${rules}\n---\n${v1}`)).status).toBe(200)
    for (const [i, v] of ['v1', 'v2', 'v3'].entries())
      await register(cp.url, token, upstreams[i] as Upstream, v)
  })

  afterAll(async () => {
    await Promise.all(meshes.map((m) => m.close()))
    await cp?.close()
  })

  it('instances get the rules and the registered endpoints, and a change reaches them all', async () => {
    for (let i = 0; i < 3; i++) {
      meshes.push(
        await createMesh({
          service: 'productpage',
          controlPlane: cp.url,
          token,
          cacheDir: await tempDir('weft-cache-'),
        }),
      )
    }
    for (const mesh of meshes) expect(await version(mesh)).toBe('reviews-v1')
    const v3 = await readFile(join(bookinfo, 'virtual-service-reviews-v3.yaml'), 'utf8')
    const applied = await api(cp.url, admin, 'POST', '/api/v1/apply', v3)
    const started = Date.now()
    await until(() =>
      meshes.every(
        (m) =>
          m.snapshot.version !== '' &&
          m.snapshot.resources.some((r) => r.metadata.resourceVersion === String(applied.body.version)),
      ),
    )
    expect(Date.now() - started).toBeLessThan(1000)
    for (const mesh of meshes) expect(await version(mesh)).toBe('reviews-v3')
    const status = await api(cp.url, admin, 'GET', '/api/v1/status')
    expect(status.body.workloads).toHaveLength(3)
    await until(async () =>
      (await api(cp.url, admin, 'GET', '/api/v1/status')).body.workloads.every(
        (w: { state: string; applied: number }) => w.state === 'ACK' && w.applied === applied.body.version,
      ),
    )
  })

  it('a snapshot an instance refuses: it keeps serving the old rules, and status shows the NACK and why', async () => {
    const mesh = meshes[0] as Mesh
    const before = await version(mesh)
    // A resource no validation would let through, written under the API, as a newer control
    // plane might send something an older SDK cannot take.
    const [bad] = loadConfig([
      {
        file: 'bad.yaml',
        text: 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: default}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v2}\n',
      },
    ]).resources
    const broken = {
      ...bad,
      spec: {
        ...(bad?.spec as object),
        http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }], retries: { attempts: -3 } }],
      },
    }
    const state = await cp.store.commit({ put: [broken as never], delete: [], expect: new Map() })
    await until(async () =>
      (await api(cp.url, admin, 'GET', '/api/v1/status')).body.workloads.every(
        (w: { state: string }) => w.state === 'NACK',
      ),
    )
    const status = await api(cp.url, admin, 'GET', '/api/v1/status')
    expect(status.body.workloads[0].reason).toMatch(/retries\.attempts/)
    expect(status.body.workloads[0].applied).toBeLessThan(state.revision)
    expect(await version(mesh)).toBe(before)
  })
})

describe('first snapshots and caches', () => {
  it('a control plane with nothing applied yet still gives a starting instance its (empty) first snapshot', async () => {
    const fresh = await startControlPlane({ port: 0, dataDir: await tempDir('weft-cp-empty-') })
    try {
      const mesh = await createMesh({
        service: 'productpage',
        controlPlane: fresh.url,
        token: fresh.credentials.issue('default', 'productpage'),
        cacheDir: await tempDir('weft-cache-empty-'),
        startTimeoutMs: 3000,
      })
      expect(mesh.snapshot.resources).toEqual([])
      await mesh.close()
    } finally {
      await fresh.close()
    }
  })

  it('a cache from another control plane at the same version is replaced, not resumed', async () => {
    const cacheDir = await tempDir('weft-cache-other-')
    const vs = (host: string) =>
      `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ${host}, namespace: default}\nspec:\n  hosts: [${host}]\n  http:\n  - route:\n    - destination: {host: ${host}}\n`
    const hosts: string[][] = []
    for (const host of ['first', 'second']) {
      const cp = await startControlPlane({ port: 0, dataDir: await tempDir('weft-cp-other-') })
      try {
        const admin = (await readFile(cp.adminTokenFile as string, 'utf8')).trim()
        const applied = await api(cp.url, admin, 'POST', '/api/v1/apply', vs(host))
        // Both control planes are at version 1: only the store's identity tells them apart.
        expect(applied.body.version).toBe(1)
        const mesh = await createMesh({
          service: 'productpage',
          controlPlane: cp.url,
          token: cp.credentials.issue('default', 'productpage'),
          cacheDir,
        })
        await until(() => mesh.snapshot.resources.some((r) => r.metadata.name === host))
        hosts.push(mesh.snapshot.resources.map((r) => r.metadata.name))
        await mesh.close()
      } finally {
        await cp.close()
      }
    }
    expect(hosts).toEqual([['first'], ['second']])
  })
})

describe('the control plane killed with SIGKILL (separate process)', () => {
  it('instances serve every call meanwhile, and one restarted while it is down starts from its disk cache', async () => {
    const dataDir = await tempDir('weft-cp-kill-')
    const cacheDir = await tempDir('weft-cache-kill-')
    const start = (port: number) =>
      startControlPlaneProcess(['--port', String(port), '--data-dir', dataDir], 15_000)
    let cp: ControlPlaneProcess = await start(0)
    const port = Number(new URL(cp.url).port)
    const admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()
    const { body } = await api(cp.url, admin, 'POST', '/api/v1/tokens', {
      namespace: 'default',
      serviceAccount: 'productpage',
    })
    const token = body.token as string
    const rules = await readFile(join(bookinfo, 'destination-rule-all.yaml'), 'utf8')
    const v2 = await readFile(join(bookinfo, 'virtual-service-all-v1.yaml'), 'utf8')
    await api(
      cp.url,
      admin,
      'POST',
      '/api/v1/apply',
      `${rules}\n---\n${v2.replace(/subset: v1/g, 'subset: v2')}`,
    )
    await register(cp.url, token, upstreams[1] as Upstream, 'v2')
    const options = { service: 'productpage', controlPlane: cp.url, token, cacheDir, startTimeoutMs: 2000 }
    const serving = await createMesh(options)
    try {
      expect(await version(serving)).toBe('reviews-v2')
      cp.child.kill('SIGKILL')
      await new Promise((r) => cp.child.once('exit', r))
      // A bounded stream of calls across 10 s of absence; a restart from the cache in the middle.
      const end = Date.now() + 10_000
      let calls = 0
      let failed = 0
      let restarted: Mesh | undefined
      while (Date.now() < end && calls < 5000) {
        calls++
        if ((await version(serving).catch(() => 'failed')) !== 'reviews-v2') failed++
        if (!restarted && Date.now() > end - 7000) {
          restarted = await createMesh(options)
          expect(await version(restarted)).toBe('reviews-v2')
        }
        await new Promise((r) => setTimeout(r, 5))
      }
      expect(failed).toBe(0)
      expect(calls).toBeGreaterThan(100)
      expect(restarted).toBeDefined()
      // Back on the same port and data: the instances reconnect and follow a new change.
      cp = await start(port)
      await register(cp.url, token, upstreams[2] as Upstream, 'v3')
      await api(cp.url, admin, 'POST', '/api/v1/apply', v2.replace(/subset: v1/g, 'subset: v3'))
      await until(async () => (await version(serving)) === 'reviews-v3', 10_000)
      await until(async () => (await version(restarted as Mesh)) === 'reviews-v3', 10_000)
      await restarted?.close()
    } finally {
      await serving.close()
      cp.child.kill('SIGTERM')
    }
  }, 60_000)
})
