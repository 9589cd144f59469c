import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type Resource } from '@weft/config'
import { type ControlPlane, startControlPlane } from '@weft/control-plane'
import { createMesh, type Mesh } from '@weft/mesh'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callApi, until as waitFor } from './support/control-plane-api.js'
import { type ControlPlaneProcess, startControlPlaneProcess } from './support/control-plane-process.js'

// The watch stream's deltas (docs/api.md, "Watch"): the wire as a raw client reads it from a
// control plane in its own process, SDKs resuming from their disk cache, and an SDK refusing a delta.

const dirs: string[] = []
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

const api = callApi

const until = (check: () => Promise<boolean> | boolean, timeoutMs = 10_000) => waitFor(check, timeoutMs)

const vs = (name: string, host: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${host}]
  http:
  - route:
    - destination: {host: ${host}}
`

interface WatchEvent {
  readonly id: string | undefined
  readonly event: string
  readonly data: {
    version: number
    from?: number
    resources?: Resource[]
    put?: Resource[]
    delete?: string[]
    endpoints?: unknown
  }
}

/** A raw SSE reader on /api/v1/watch: events one by one, as they come. */
async function openWatch(url: string, token: string, instance: string, lastEventId?: string) {
  const abort = new AbortController()
  const query = new URLSearchParams({ instance, service: 'raw', namespace: 'default' })
  const res = await request(`${url}/api/v1/watch?${query}`, {
    signal: abort.signal,
    headers: {
      authorization: `Bearer ${token}`,
      ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
    },
  })
  expect(res.statusCode).toBe(200)
  res.body.setEncoding('utf8')
  const chunks = res.body[Symbol.asyncIterator]()
  let buffer = ''
  return {
    async next(timeoutMs = 5000): Promise<WatchEvent> {
      const end = Date.now() + timeoutMs
      for (;;) {
        const at = buffer.indexOf('\n\n')
        if (at >= 0) {
          const block = buffer.slice(0, at)
          buffer = buffer.slice(at + 2)
          if (block.startsWith(':')) continue
          const field = (name: string) =>
            block
              .split('\n')
              .find((l) => l.startsWith(`${name}: `))
              ?.slice(name.length + 2)
          return {
            id: field('id'),
            event: field('event') ?? 'message',
            data: JSON.parse(field('data') ?? '{}'),
          }
        }
        if (Date.now() > end) throw new Error('no event in time')
        const { value, done } = await chunks.next()
        if (done) throw new Error('the stream ended')
        buffer += value as string
      }
    },
    close: () => abort.abort(),
  }
}

const names = (rs: Resource[] | undefined) => (rs ?? []).map((r) => r.metadata.name).sort()

describe('watch deltas on the wire (control plane in its own process)', () => {
  let cp: ControlPlaneProcess
  let admin: string
  let token: string

  beforeAll(async () => {
    const dataDir = await tempDir('weft-cp-delta-')
    cp = await startControlPlaneProcess(['--port', '0', '--data-dir', dataDir])
    admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()
    const issued = await api(cp.url, admin, 'POST', '/api/v1/tokens', {
      namespace: 'default',
      serviceAccount: 'raw',
    })
    token = issued.body.token as string
  })

  afterAll(() => {
    cp?.child.kill('SIGTERM')
  })

  it('the whole config first, then only what changed; a reconnection resumes from its Last-Event-ID', async () => {
    await api(cp.url, admin, 'POST', '/api/v1/apply', `${vs('a', 'a')}---\n${vs('b', 'b')}`)
    const live = await openWatch(cp.url, token, 'raw-live')
    const first = await live.next()
    expect(first.event).toBe('snapshot')
    expect(names(first.data.resources)).toEqual(['a', 'b'])
    const [store] = (first.id as string).split('.')

    const changed = await api(cp.url, admin, 'POST', '/api/v1/apply', vs('a', 'a2'))
    const second = await live.next()
    expect(second).toMatchObject({ event: 'delta', id: `${store}.${changed.body.version}` })
    expect(second.data.from).toBe(first.data.version)
    expect(names(second.data.put)).toEqual(['a'])
    expect(second.data.delete).toEqual([])
    expect(second.data.endpoints).toBeUndefined()

    await api(cp.url, admin, 'DELETE', '/api/v1/resources/VirtualService/default/b')
    const third = await live.next()
    expect(third.data).toMatchObject({
      from: second.data.version,
      put: [],
      delete: ['VirtualService/default/b'],
    })

    const registered = await api(cp.url, token, 'POST', '/api/v1/endpoints', {
      service: 'a2',
      namespace: 'default',
      address: '127.0.0.1',
      port: 9080,
    })
    expect(registered.status).toBe(201)
    const fourth = await live.next()
    expect(fourth.data).toMatchObject({ put: [], delete: [], endpoints: { delete: [] } })
    live.close()

    // What a client that held the first version missed, in one delta.
    const resumed = await openWatch(cp.url, token, 'raw-resumed', first.id)
    const caughtUp = await resumed.next()
    expect(caughtUp.event).toBe('delta')
    expect(caughtUp.data.from).toBe(first.data.version)
    expect(caughtUp.data.version).toBe(fourth.data.version)
    expect(names(caughtUp.data.put)).toEqual(['a'])
    expect(caughtUp.data.delete).toEqual(['VirtualService/default/b'])
    expect(caughtUp.data.endpoints).toMatchObject({ put: [{ service: 'a2', port: 9080 }], delete: [] })
    resumed.close()

    const current = await openWatch(cp.url, token, 'raw-current', fourth.id)
    expect((await current.next()).event).toBe('current')
    current.close()

    const stranger = await openWatch(cp.url, token, 'raw-stranger', `another-store.${fourth.data.version}`)
    const whole = await stranger.next()
    expect(whole.event).toBe('snapshot')
    expect(names(whole.data.resources)).toEqual(['a'])
    stranger.close()

    // Past the versions the control plane keeps deltas from: the whole config again.
    for (let i = 0; i < 20; i++) await api(cp.url, admin, 'POST', '/api/v1/apply', vs(`c${i}`, `c${i}`))
    const late = await openWatch(cp.url, token, 'raw-late', first.id)
    const again = await late.next()
    expect(again.event).toBe('snapshot')
    expect(names(again.data.resources)).toEqual(
      ['a', ...Array.from({ length: 20 }, (_, i) => `c${i}`)].sort(),
    )
    late.close()
  })
})

describe('SDKs resuming from their disk cache (control plane in its own process)', () => {
  let cp: ControlPlaneProcess
  let admin: string
  let token: string

  beforeAll(async () => {
    const dataDir = await tempDir('weft-cp-resume-')
    cp = await startControlPlaneProcess(['--port', '0', '--data-dir', dataDir])
    admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()
    const issued = await api(cp.url, admin, 'POST', '/api/v1/tokens', {
      namespace: 'default',
      serviceAccount: 'productpage',
    })
    token = issued.body.token as string
  })

  afterAll(() => {
    cp?.child.kill('SIGTERM')
  })

  it.each([
    { missed: 3, why: 'a few versions missed: resumed with a delta' },
    { missed: 20, why: 'more versions missed than the control plane keeps: the whole config' },
  ])('$why — what changed meanwhile is in force, what was deleted is gone', async ({ missed }) => {
    const cacheDir = await tempDir('weft-cache-resume-')
    await api(cp.url, admin, 'POST', '/api/v1/apply', `${vs('keep', 'keep')}---\n${vs('drop', 'drop')}`)
    const options = { service: 'productpage', controlPlane: cp.url, token, cacheDir, startTimeoutMs: 5000 }
    const before = await createMesh(options)
    expect(names([...before.snapshot.resources])).toContain('drop')
    await before.close()

    await api(cp.url, admin, 'DELETE', '/api/v1/resources/VirtualService/default/drop')
    let last = 0
    for (let i = 1; i < missed; i++) {
      last = (await api(cp.url, admin, 'POST', '/api/v1/apply', vs('keep', `keep-${i}`))).body.version
    }

    const after: Mesh = await createMesh(options)
    try {
      await until(() => after.snapshot.resources.some((r) => r.metadata.resourceVersion === String(last)))
      expect(names([...after.snapshot.resources])).toEqual(['keep'])
      expect(after.snapshot.virtualServices.hosts()).toEqual([`keep-${missed - 1}.default.svc.cluster.local`])
    } finally {
      await after.close()
      await api(cp.url, admin, 'DELETE', '/api/v1/resources/VirtualService/default/keep')
    }
  })
})

describe('a delta the SDK refuses (in-process control plane, to write what the API would refuse)', () => {
  let cp: ControlPlane
  let admin: string
  let mesh: Mesh

  beforeAll(async () => {
    cp = await startControlPlane({ port: 0, dataDir: await tempDir('weft-cp-nack-') })
    admin = (await readFile(cp.adminTokenFile as string, 'utf8')).trim()
    await api(cp.url, admin, 'POST', '/api/v1/apply', `${vs('good', 'good')}---\n${vs('other', 'other')}`)
    mesh = await createMesh({
      service: 'productpage',
      controlPlane: cp.url,
      token: cp.credentials.issue('default', 'productpage'),
      cacheDir: await tempDir('weft-cache-nack-'),
    })
  })

  afterAll(async () => {
    await mesh?.close()
    await cp?.close()
  })

  const status = async () =>
    (await api(cp.url, admin, 'GET', '/api/v1/status')).body.workloads[0] as {
      state: string
      applied: number
      sent: number
      reason?: string
    }

  it('keeps the old rules and says why; the next delta builds on what was sent; the fix is applied', async () => {
    const inForce = mesh.snapshot.version
    const good = mesh.snapshot.resources.find((r) => r.metadata.name === 'good')?.metadata.resourceVersion
    await until(async () => (await status()).state === 'ACK')
    const appliedBefore = (await status()).applied

    const [valid] = loadConfig([{ file: 'bad.yaml', text: vs('good', 'good') }]).resources
    const broken = {
      ...valid,
      spec: {
        hosts: ['good'],
        http: [{ route: [{ destination: { host: 'good' } }], retries: { attempts: -3 } }],
      },
    }
    await cp.store.commit({ put: [broken as never], delete: [], expect: new Map() })
    await until(async () => (await status()).state === 'NACK')
    expect((await status()).reason).toMatch(/retries\.attempts/)
    expect((await status()).applied).toBe(appliedBefore)
    expect(mesh.snapshot.version).toBe(inForce)

    // A valid change elsewhere: the refused resource is still in the config, so still refused.
    const other = await api(cp.url, admin, 'POST', '/api/v1/apply', vs('other', 'other-2'))
    await until(async () => (await status()).sent === other.body.version)
    await until(async () => (await status()).state === 'NACK')
    expect(mesh.snapshot.version).toBe(inForce)
    expect(mesh.snapshot.resources.find((r) => r.metadata.name === 'good')?.metadata.resourceVersion).toBe(
      good,
    )
    expect(mesh.snapshot.virtualServices.hosts().sort()).toEqual([
      'good.default.svc.cluster.local',
      'other.default.svc.cluster.local',
    ])

    const fixed = await api(cp.url, admin, 'POST', '/api/v1/apply', vs('good', 'good-2'))
    await until(
      async () => (await status()).state === 'ACK' && (await status()).applied === fixed.body.version,
    )
    expect(mesh.snapshot.virtualServices.hosts().sort()).toEqual([
      'good-2.default.svc.cluster.local',
      'other-2.default.svc.cluster.local',
    ])
  })
})
