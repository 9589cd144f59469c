import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ControlPlane, startControlPlane } from '@weft/control-plane'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callApi } from './support/control-plane-api.js'
import { startControlPlaneProcess } from './support/control-plane-process.js'

const here = dirname(fileURLToPath(import.meta.url))
const bookinfo = join(process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../shared/istio'), 'bookinfo')

let dataDir: string
let cp: ControlPlane
let admin: string
const logs: string[] = []

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: string; json?: unknown } = {},
) {
  const res = await request(`${cp.url}${path}`, {
    method: method as 'GET',
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined }
}

const reviewsV1 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
`

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'weft-cp-'))
  cp = await startControlPlane({ port: 0, dataDir, log: (line) => logs.push(line) })
  admin = (await readFile(cp.adminTokenFile as string, 'utf8')).trim()
})

afterAll(async () => {
  await cp?.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('control plane HTTP API (file store, real sockets)', () => {
  it('health and readiness need no token; everything else does (401)', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200)
    expect((await call('GET', '/readyz')).status).toBe(200)
    const anonymous = await call('POST', '/api/v1/apply', { body: reviewsV1 })
    expect(anonymous.status).toBe(401)
    expect(anonymous.body.code).toBe('WEFT_CP_UNAUTHENTICATED')
    expect((await call('GET', '/api/v1/resources', { token: 'weft1.forged.token' })).status).toBe(401)
  })

  it('the generated admin token is kept mode 0600 in the data directory', async () => {
    expect((await stat(cp.adminTokenFile as string)).mode & 0o777).toBe(0o600)
  })

  it("applies Istio's Bookinfo rules as one set and reports what changed", async () => {
    const text = await readFile(join(bookinfo, 'destination-rule-all.yaml'), 'utf8')
    const first = await call('POST', '/api/v1/apply', { token: admin, body: text })
    expect(first.status).toBe(200)
    expect(first.body.results.map((r: { action: string }) => r.action)).toEqual([
      'created',
      'created',
      'created',
      'created',
    ])
    const again = await call('POST', '/api/v1/apply', { token: admin, body: text })
    expect(again.body.results.every((r: { action: string }) => r.action === 'unchanged')).toBe(true)
    expect(again.body.version).toBe(first.body.version)
    const list = await call('GET', '/api/v1/resources?kind=DestinationRule&namespace=default', {
      token: admin,
    })
    expect(list.body.items.map((r: { metadata: { name: string } }) => r.metadata.name).sort()).toEqual([
      'details',
      'productpage',
      'ratings',
      'reviews',
    ])
  })

  it('an invalid apply is refused with validate’s error lines, and nothing is stored', async () => {
    const before = await call('GET', '/api/v1/resources', { token: admin })
    const bad = `${reviewsV1}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - route:
    - destination: {host: ratings}
    retries: {attempts: -1}
`
    const refused = await call('POST', '/api/v1/apply?file=bad.yaml', { token: admin, body: bad })
    expect(refused.status).toBe(400)
    expect(refused.body.code).toBe('WEFT_CP_CONFIG_INVALID')
    expect(refused.body.errors.join('\n')).toMatch(
      /^bad\.yaml:18:25 VirtualService\/default\/ratings: spec\.http\[0\]\.retries\.attempts: attempts cannot be negative$/m,
    )
    const after = await call('GET', '/api/v1/resources', { token: admin })
    expect(after.body).toEqual(before.body)
  })

  it('optimistic concurrency: of two updates from the same resourceVersion one wins, one gets 409', async () => {
    const created = await call('POST', '/api/v1/apply', { token: admin, body: reviewsV1 })
    const version = created.body.results[0].resourceVersion as string
    const update = (subset: string) =>
      call('POST', '/api/v1/apply', {
        token: admin,
        body: reviewsV1
          .replace('namespace: default}', `namespace: default, resourceVersion: "${version}"}`)
          .replace('subset: v1', `subset: ${subset}`),
      })
    const answers = await Promise.all([update('v2'), update('v3')])
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409])
    expect(answers.find((a) => a.status === 409)?.body.code).toBe('WEFT_CP_CONFLICT')
  })

  it('workload tokens: their own namespace only (403 elsewhere), and never writes', async () => {
    const issued = await call('POST', '/api/v1/tokens', {
      token: admin,
      json: { namespace: 'default', serviceAccount: 'bookinfo-productpage' },
    })
    expect(issued.status).toBe(201)
    const workload = issued.body.token as string
    expect((await call('GET', '/api/v1/resources', { token: workload })).status).toBe(200)
    const other = await call('GET', '/api/v1/resources?namespace=istio-system', { token: workload })
    expect(other.status).toBe(403)
    expect(other.body.code).toBe('WEFT_CP_FORBIDDEN')
    const register = await call('POST', '/api/v1/endpoints', {
      token: workload,
      json: { service: 'ratings', namespace: 'prod', address: '127.0.0.1', port: 9080 },
    })
    expect(register.status).toBe(403)
    expect((await call('POST', '/api/v1/apply', { token: workload, body: reviewsV1 })).status).toBe(403)
    expect(
      (await call('DELETE', '/api/v1/resources/VirtualService/default/reviews', { token: workload })).status,
    ).toBe(403)
  })

  it('no token ever appears in the log', async () => {
    const issued = await call('POST', '/api/v1/tokens', {
      token: admin,
      json: { namespace: 'default', serviceAccount: 'reviews' },
    })
    const all = logs.join('\n')
    expect(logs.length).toBeGreaterThan(0)
    expect(all).not.toContain(admin)
    expect(all).not.toContain(issued.body.token)
    expect(all).not.toContain(issued.body.token.split('.')[2])
  })

  it('registered endpoints are leased: they go when the lease lapses', async () => {
    const { body } = await call('POST', '/api/v1/tokens', {
      token: admin,
      json: { namespace: 'default', serviceAccount: 'ratings' },
    })
    const registered = await call('POST', '/api/v1/endpoints', {
      token: body.token,
      json: {
        service: 'ratings',
        namespace: 'default',
        address: '127.0.0.1',
        port: 9080,
        labels: { version: 'v1' },
      },
    })
    expect(registered.status).toBe(201)
    const status = await call('GET', '/api/v1/status', { token: admin })
    expect(status.body.endpoints).toContainEqual(
      expect.objectContaining({ service: 'ratings', port: 9080, serviceAccount: 'ratings' }),
    )
    expect(
      (await call('PUT', `/api/v1/endpoints/${registered.body.lease}`, { token: body.token })).status,
    ).toBe(204)
    expect(
      (await call('DELETE', `/api/v1/endpoints/${registered.body.lease}`, { token: body.token })).status,
    ).toBe(204)
    expect((await call('GET', '/api/v1/status', { token: admin })).body.endpoints).toEqual([])
    expect(
      (await call('PUT', `/api/v1/endpoints/${registered.body.lease}`, { token: body.token })).status,
    ).toBe(404)
  })

  it('deletes a resource; a second delete is 404', async () => {
    expect(
      (await call('DELETE', '/api/v1/resources/VirtualService/default/reviews', { token: admin })).status,
    ).toBe(200)
    expect(
      (await call('DELETE', '/api/v1/resources/VirtualService/default/reviews', { token: admin })).status,
    ).toBe(404)
  })
})

describe('file store durability', () => {
  it('what was acknowledged (resources and leased endpoints) is there after a restart on the same data directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-cp-restart-'))
    try {
      const first = await startControlPlane({ port: 0, dataDir: dir })
      const token = (await readFile(first.adminTokenFile as string, 'utf8')).trim()
      const res = await request(`${first.url}/api/v1/apply`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: reviewsV1,
      })
      await res.body.json()
      const lease = await first.store.register(
        { service: 'reviews', namespace: 'default', address: '127.0.0.1', port: 9080 },
        10_000,
      )
      const revision = first.store.state().revision
      await first.close()
      const second = await startControlPlane({ port: 0, dataDir: dir })
      expect(second.store.state().revision).toBe(revision)
      expect([...second.store.state().resources.keys()]).toEqual(['VirtualService/default/reviews'])
      // The registry too: instances keep their upstreams while workloads renew their leases.
      expect([...second.store.state().endpoints.keys()]).toEqual([lease])
      expect(await second.store.keepAlive(lease)).toBe(true)
      await second.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('every apply answered before a SIGKILL is there after a restart, across a fold of the log into state.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-cp-kill9-'))
    let proc = await startControlPlaneProcess(['--port', '0', '--data-dir', dir])
    try {
      const token = (await readFile(join(dir, 'admin-token'), 'utf8')).trim()
      // About 48 KB each, so that the log passes 1 MiB and is folded into state.json on the way.
      const pad = 'x'.repeat(48 * 1024)
      const yaml = (n: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-${n}, namespace: default, annotations: {pad: ${pad}}}
spec:
  hosts: [svc-${n}]
  http:
  - route:
    - destination: {host: svc-${n}}
    timeout: ${n + 1}s
`
      const answered = new Map<string, string>()
      let next = 0
      // Four writers at a time; the kill lands while some applies are still in flight.
      const writer = async () => {
        while (next < 200) {
          const n = next++
          const res = await callApi(proc.url, token, 'POST', '/api/v1/apply', yaml(n)).catch(() => undefined)
          if (res?.status !== 200) return
          answered.set(`VirtualService/default/svc-${n}`, res.body.results[0].resourceVersion)
          if (answered.size === 40) proc.child.kill('SIGKILL')
        }
      }
      await Promise.all([writer(), writer(), writer(), writer()])
      const killed = proc.child
      if (killed.exitCode === null && killed.signalCode === null)
        await new Promise((r) => killed.once('exit', r))
      expect(answered.size).toBeGreaterThanOrEqual(40)
      expect((await stat(join(dir, 'state.json'))).size).toBeGreaterThan(0)

      proc = await startControlPlaneProcess(['--port', '0', '--data-dir', dir])
      const { body } = await callApi(proc.url, token, 'GET', '/api/v1/resources')
      const stored = new Map(
        (
          body.items as {
            kind: string
            metadata: { name: string; namespace: string; resourceVersion: string }
          }[]
        ).map((r) => [`${r.kind}/${r.metadata.namespace}/${r.metadata.name}`, r.metadata.resourceVersion]),
      )
      for (const [key, resourceVersion] of answered) expect(stored.get(key), key).toBe(resourceVersion)
    } finally {
      proc.child.kill('SIGKILL')
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('a second control plane on the same data directory is refused while the first runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-cp-lock-'))
    const first = await startControlPlane({ port: 0, dataDir: dir })
    try {
      await expect(startControlPlane({ port: 0, dataDir: dir })).rejects.toThrow(/another control plane/)
    } finally {
      await first.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
