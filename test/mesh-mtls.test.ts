import { type ChildProcess, fork } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type ControlPlane, startControlPlane } from '@weft/control-plane'
import { createMesh, type Mesh } from '@weft/mesh'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const here = dirname(fileURLToPath(import.meta.url))
const bookinfo = join(process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../shared/istio'), 'bookinfo')

const policies = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-viewer, namespace: default}
spec:
  selector: {matchLabels: {app: ratings}}
  action: ALLOW
  rules:
  - from:
    - source: {principals: [cluster.local/ns/default/sa/productpage]}
`

let dataDir: string
let cp: ControlPlane
let ratings: ChildProcess
let ratingsPort: number
const meshes: Mesh[] = []

async function service(name: string): Promise<Mesh> {
  const mesh = await createMesh({
    service: name,
    controlPlane: cp.url,
    token: cp.credentials.issue('default', name),
    cacheDir: await mkdtemp(join(tmpdir(), 'weft-cache-mtls-')),
  })
  meshes.push(mesh)
  return mesh
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'weft-cp-mtls-'))
  cp = await startControlPlane({ port: 0, dataDir })
  const admin = (await readFile(cp.adminTokenFile as string, 'utf8')).trim()
  const rules = await readFile(join(bookinfo, 'destination-rule-all-mtls.yaml'), 'utf8')
  const applied = await request(`${cp.url}/api/v1/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}` },
    body: `${rules}\n---\n${policies}`,
  })
  expect(applied.statusCode).toBe(200)
  await applied.body.dump()
  ratings = fork(join(here, 'support/mesh-service.mjs'), [], {
    env: {
      ...process.env,
      SERVICE: 'ratings',
      WEFT_CONTROL_PLANE: cp.url,
      WEFT_TOKEN: cp.credentials.issue('default', 'ratings'),
      WEFT_CACHE_DIR: dataDir,
    },
    // The built packages, as a user's process loads them (not the test runner's source condition).
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const started = await new Promise<{ port: number; mtls: boolean }>((done, fail) => {
    const timer = setTimeout(() => fail(new Error('ratings did not start')), 20_000)
    ratings.once('message', (m) => {
      clearTimeout(timer)
      done(m as { port: number; mtls: boolean })
    })
    ratings.once('exit', (code) => fail(new Error(`ratings exited with ${code}`)))
  })
  expect(started.mtls).toBe(true)
  ratingsPort = started.port
}, 60_000)

afterAll(async () => {
  await Promise.all(meshes.map((m) => m.close()))
  if (ratings && ratings.exitCode === null) {
    const exited = new Promise((r) => ratings.once('exit', r))
    ratings.disconnect()
    await exited
  }
  await cp?.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('mutual TLS with certificates from the control plane’s CA, STRICT, and authorization by principal', () => {
  it('productpage’s calls pass over mutual TLS, carrying its principal; another workload’s get 403', async () => {
    const productpage = await service('productpage')
    const reviews = await service('reviews')
    const allowed = await productpage.fetch('http://ratings:9080/ratings/0')
    expect(allowed.status).toBe(200)
    const body = (await allowed.json()) as { name: string; weft: { principal: string } }
    expect(body.name).toBe('ratings-v1')
    expect(body.weft.principal).toBe('cluster.local/ns/default/sa/productpage')
    const denied = await reviews.fetch('http://ratings:9080/ratings/0')
    expect(denied.status).toBe(403)
    expect(await denied.text()).toBe('RBAC: access denied')
  })

  it('STRICT: a plaintext client straight to the port is refused before the application sees it', async () => {
    await expect(
      request(`http://127.0.0.1:${ratingsPort}/ratings/0`, { headersTimeout: 5000 }).then((r) =>
        r.body.text(),
      ),
    ).rejects.toThrow()
  })

  it('both sides report the calls in Istio’s metrics: the caller as source, ratings (scraped over the mesh) as destination', async () => {
    const productpage = meshes[0] as Mesh
    const source = await productpage.metrics.metrics()
    expect(source).toMatch(
      /istio_requests_total\{[^}]*reporter="source"[^}]*destination_service="ratings\.default\.svc\.cluster\.local"[^}]*response_code="200"[^}]*\} 1/,
    )
    // ratings' /metrics is behind STRICT mTLS and its policy too: productpage may read it.
    const scraped = await productpage.fetch('http://ratings:9080/metrics')
    expect(scraped.status).toBe(200)
    const destination = await scraped.text()
    const series = (code: string, principal: string) =>
      new RegExp(
        `istio_requests_total\\{[^}]*reporter="destination"[^}]*source_principal="spiffe://cluster\\.local/ns/default/sa/${principal}"[^}]*destination_workload="ratings-v1"[^}]*response_code="${code}"[^}]*connection_security_policy="mutual_tls"[^}]*\\} 1`,
      )
    expect(destination).toMatch(series('200', 'productpage'))
    expect(destination).toMatch(series('403', 'reviews'))
  })
})
