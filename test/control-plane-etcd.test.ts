import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMesh, type Mesh } from '@weft/mesh'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callApi } from './support/control-plane-api.js'
import {
  type ControlPlaneProcess,
  startControlPlaneProcess,
  weftBin,
} from './support/control-plane-process.js'
import { type EtcdCluster, freePort, startEtcdCluster } from './support/etcd-cluster.js'

let cluster: EtcdCluster
let dataDir: string
const replicas: ControlPlaneProcess[] = []

function startReplica(): Promise<ControlPlaneProcess> {
  return startControlPlaneProcess([
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--store',
    'etcd',
    '--etcd-endpoints',
    cluster.clientUrls.join(','),
  ])
}

const api = (url: string, token: string, method: string, path: string, body?: string | object) =>
  callApi(url, token, method, path, body, { headersTimeout: 5000 })

const route = (n: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: route-${n}, namespace: default}
spec:
  hosts: [svc-${n}]
  http:
  - route:
    - destination: {host: svc-${n}}
`

beforeAll(async () => {
  cluster = await startEtcdCluster(3)
  dataDir = await mkdtemp(join(tmpdir(), 'weft-cp-etcd-'))
  // The first replica creates the shared secrets; the second finds them.
  replicas.push(await startReplica())
  replicas.push(await startReplica())
}, 90_000)

afterAll(async () => {
  for (const r of replicas) if (r.child.exitCode === null) r.child.kill('SIGKILL')
  await cluster?.stop()
  await rm(dataDir, { recursive: true, force: true })
})

/** `weft ARGS…` with the admin token; its exit code and output. */
function weft(args: string[], token: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [weftBin, ...args],
      { env: { ...process.env, WEFT_TOKEN: token } },
      (error, stdout, stderr) =>
        done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}

interface StatusJson {
  workloads: { service: string; state: string; replica?: string }[]
  replicas?: { server: string; reachable: boolean }[]
}

describe('two control-plane replicas over a 3-member etcd cluster', () => {
  it('weft status given both replicas shows every instance, and the replica it watches', async () => {
    const [a, b] = replicas as [ControlPlaneProcess, ControlPlaneProcess]
    const admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()
    const { body } = await api(a.url, admin, 'POST', '/api/v1/tokens', {
      namespace: 'default',
      serviceAccount: 'bookinfo',
    })
    const cacheDir = await mkdtemp(join(tmpdir(), 'weft-cache-status-'))
    const meshes = [
      await createMesh({ service: 'details', controlPlane: a.url, token: body.token, cacheDir }),
      await createMesh({ service: 'ratings', controlPlane: b.url, token: body.token, cacheDir }),
    ]
    try {
      const status = async (servers: string) => {
        const run = await weft(['status', '--server', servers, '-o', 'json'], admin)
        return { code: run.code, stderr: run.stderr, json: JSON.parse(run.stdout) as StatusJson }
      }
      const acked = (s: StatusJson, service: string) =>
        s.workloads.some((w) => w.service === service && w.state === 'ACK')
      let both = await status(`${a.url},${b.url}`)
      const deadline = Date.now() + 10_000
      while (!(acked(both.json, 'details') && acked(both.json, 'ratings')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100))
        both = await status(`${a.url},${b.url}`)
      }
      expect(both.code).toBe(0)
      const replicaOf = (s: StatusJson) =>
        Object.fromEntries(s.workloads.map((w) => [w.service, [w.state, w.replica]]))
      expect(replicaOf(both.json)).toEqual({ details: ['ACK', a.url], ratings: ['ACK', b.url] })
      expect(both.json.replicas).toEqual([
        { server: a.url, reachable: true },
        { server: b.url, reachable: true },
      ])
      // One replica knows only the instances that watch it.
      const onlyA = await status(a.url)
      expect(onlyA.json.workloads.map((w) => w.service)).toEqual(['details'])
      // A replica that cannot be reached: the rest is shown, and the exit code says it is partial.
      const gone = `http://127.0.0.1:${await freePort()}`
      const partial = await status(`${a.url},${gone}`)
      expect(partial.code).toBe(3)
      expect(partial.json.workloads.map((w) => w.service)).toEqual(['details'])
      expect(partial.json.replicas?.map((r) => r.reachable)).toEqual([true, false])
      expect(partial.stderr).toContain(`cannot reach the control plane at ${gone}`)
      // Any other command goes to the first replica it can connect to.
      const listed = await weft(['get', 'vs', '-A', '--server', `${gone},${b.url}`, '-o', 'json'], admin)
      expect(listed.code).toBe(0)
      const alone = await weft(['get', 'vs', '-A', '--server', gone], admin)
      expect([alone.code, alone.stderr.includes(`cannot reach the control plane at ${gone}`)]).toEqual([
        3,
        true,
      ])
    } finally {
      await Promise.all(meshes.map((m) => m.close()))
      await rm(cacheDir, { recursive: true, force: true })
    }
  }, 60_000)

  it('one etcd member and one replica killed mid-stream: every acknowledged apply survives, every instance converges', async () => {
    const [a, b] = replicas as [ControlPlaneProcess, ControlPlaneProcess]
    const admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()
    // Replicas share the signing key through etcd: a token from one is good at the other.
    const { body } = await api(a.url, admin, 'POST', '/api/v1/tokens', {
      namespace: 'default',
      serviceAccount: 'productpage',
    })
    expect((await api(b.url, body.token, 'GET', '/api/v1/resources')).status).toBe(200)

    const meshes: Mesh[] = []
    for (let i = 0; i < 2; i++) {
      meshes.push(
        await createMesh({
          service: 'productpage',
          controlPlane: i === 0 ? [a.url, b.url] : [b.url, a.url],
          token: body.token,
          cacheDir: await mkdtemp(join(tmpdir(), 'weft-cache-etcd-')),
        }),
      )
    }
    try {
      const acknowledged: number[] = []
      let lastVersion = 0
      for (let n = 0; n < 40; n++) {
        if (n === 15) {
          await (cluster.members[2] as { kill(): Promise<void> }).kill()
          a.child.kill('SIGKILL')
        }
        const target = n % 2 === 0 ? a.url : b.url
        const answer = await api(target, admin, 'POST', '/api/v1/apply', route(n)).catch(() => undefined)
        if (answer?.status === 200) {
          acknowledged.push(n)
          lastVersion = Math.max(lastVersion, answer.body.version as number)
        }
      }
      // Both replicas took applies before the kill; only b after it.
      expect(acknowledged.filter((n) => n < 15)).toHaveLength(15)
      expect(acknowledged.filter((n) => n >= 15).length).toBeGreaterThanOrEqual(12)
      const stored = await api(b.url, admin, 'GET', '/api/v1/resources?kind=VirtualService&namespace=default')
      const names = new Set(stored.body.items.map((r: { metadata: { name: string } }) => r.metadata.name))
      for (const n of acknowledged) expect(names.has(`route-${n}`)).toBe(true)
      const converged = () =>
        meshes.every((m) =>
          acknowledged.every(
            (n) =>
              m.snapshot.virtualServiceFor(`svc-${n}.default.svc.cluster.local`, 'default') !== undefined,
          ),
        )
      const deadline = Date.now() + 15_000
      while (!converged() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(converged()).toBe(true)
      expect(lastVersion).toBeGreaterThan(0)
    } finally {
      await Promise.all(meshes.map((m) => m.close()))
    }
  }, 120_000)
})
