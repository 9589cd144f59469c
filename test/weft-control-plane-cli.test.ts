import { type ChildProcess, execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startControlPlaneProcess, weftBin } from './support/control-plane-process.js'

const here = dirname(fileURLToPath(import.meta.url))
const bookinfo = join(process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../shared/istio'), 'bookinfo')
const bin = weftBin

let dataDir: string
let server: ChildProcess
let url: string
let admin: string

function weft(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, WEFT_SERVER: url, WEFT_TOKEN: admin, ...env } },
      (error, stdout, stderr) =>
        done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    )
  })
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'weft-cli-cp-'))
  const started = await startControlPlaneProcess(['--port', '0', '--data-dir', dataDir], 15_000)
  server = started.child
  url = started.url
  admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()
}, 30_000)

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r))
    server.kill('SIGTERM')
    await exited
  }
  await rm(dataDir, { recursive: true, force: true })
})

describe('weft apply / get / delete / status / token against `weft control-plane`', () => {
  it('applies a folder of files as one set and lists what it stored', async () => {
    const applied = await weft([
      'apply',
      '-f',
      join(bookinfo, 'destination-rule-all.yaml'),
      '-f',
      join(bookinfo, 'virtual-service-all-v1.yaml'),
    ])
    expect(applied.code).toBe(0)
    expect(applied.stdout).toContain('DestinationRule/default/reviews created')
    expect(applied.stdout).toContain('VirtualService/default/reviews created')
    const listed = await weft(['get', 'vs'])
    expect(listed.code).toBe(0)
    expect(listed.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+VERSION$/)
    expect(listed.stdout).toMatch(/default\s+reviews\s+\d+/)
    const one = await weft(['get', 'VirtualService', 'reviews', '-o', 'json'])
    expect(JSON.parse(one.stdout).spec.http[0].route[0].destination).toEqual({
      host: 'reviews',
      subset: 'v1',
    })
  })

  it('an invalid file: exit 1, the error lines on stderr, nothing stored', async () => {
    const file = join(dataDir, 'bad.yaml')
    await writeFile(
      file,
      'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: bad}\nspec:\n  host: bad\n  trafficPolicy: {loadBalancer: {simple: FASTEST}}\n',
    )
    const refused = await weft(['apply', '-f', file])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(`${file}:6:`)
    expect((await weft(['get', 'dr', 'bad'])).code).toBe(1)
  })

  it('token create prints a workload token alone on stdout; that token cannot write (exit 3)', async () => {
    const created = await weft(['token', 'create', '--namespace', 'default', '--service-account', 'reviews'])
    expect(created.code).toBe(0)
    const token = created.stdout.trim()
    expect(token).toMatch(/^weft1\.[\w-]+\.[\w-]+$/)
    const denied = await weft(['delete', 'vs', 'reviews'], { WEFT_TOKEN: token })
    expect(denied.code).toBe(3)
    expect(denied.stderr).toContain('WEFT_CP_FORBIDDEN')
  })

  it('describe service: routes in order, subsets with the endpoints they select, policies; dump: one workload’s view', async () => {
    const token = (
      await weft(['token', 'create', '--namespace', 'default', '--service-account', 'reviews'])
    ).stdout.trim()
    const res = await fetch(`${url}/api/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        service: 'reviews',
        namespace: 'default',
        address: '127.0.0.1',
        port: 9080,
        labels: { app: 'reviews', version: 'v1' },
      }),
    })
    expect(res.status).toBe(201)
    const described = await weft(['describe', 'service', 'reviews'])
    expect(described.code).toBe(0)
    expect(described.stdout).toContain('Service:   reviews.default.svc.cluster.local')
    expect(described.stdout).toMatch(
      /VirtualService\/default\/reviews\n\s+http\[0\] every request → reviews\/v1/,
    )
    expect(described.stdout).toMatch(/v1\s+\{version=v1\}\s+1 endpoint\(s\)/)
    expect(described.stdout).toMatch(/v2\s+\{version=v2\}\s+0 endpoint\(s\)/)
    expect(described.stdout).toMatch(/127\.0\.0\.1:9080\s+app=reviews,version=v1\s+reviews\s+no/)
    const dumped = JSON.parse((await weft(['dump', 'productpage', '-o', 'json'])).stdout)
    expect(dumped.workload).toMatchObject({ namespace: 'default', service: 'productpage' })
    expect(dumped.routes).toContainEqual({
      host: 'reviews.default.svc.cluster.local',
      virtualService: 'VirtualService/default/reviews',
      rules: ['VirtualService/default/reviews#http[0]'],
    })
    expect((await weft(['describe', 'service', 'nothing'])).code).toBe(1)
  })

  it('delete, status, and an unreachable control plane (exit 3)', async () => {
    expect((await weft(['delete', 'vs', 'reviews'])).code).toBe(0)
    const status = await weft(['status', '-o', 'json'])
    expect(status.code).toBe(0)
    expect(JSON.parse(status.stdout)).toMatchObject({ workloads: [] })
    const away = await weft(['status'], { WEFT_SERVER: 'http://127.0.0.1:1' })
    expect(away.code).toBe(3)
    expect(away.stderr).toContain('cannot reach the control plane')
  })
})
