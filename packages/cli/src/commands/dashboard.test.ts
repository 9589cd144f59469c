import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ControlPlane, startControlPlane } from '@weft/control-plane'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../main.js'

let dataDir: string
let cp: ControlPlane
const admin = randomBytes(24).toString('base64url')

async function weft(args: string[], env: Record<string, string | undefined> = {}) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  let out = ''
  let err = ''
  try {
    const code = await run(args, {
      out: (t) => {
        out += t
      },
      err: (t) => {
        err += t
      },
      readStdin: async () => '',
    })
    return { code, out, err }
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

const tokenOf = (url: string) => decodeURIComponent(new URL(url).hash.replace(/^#token=/, ''))

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'weft-cli-dashboard-'))
  cp = await startControlPlane({ port: 0, dataDir, adminToken: admin })
}, 30_000)

afterAll(async () => {
  await cp?.close()
  await rm(dataDir, { recursive: true, force: true })
})

describe('weft dashboard', () => {
  it('prints the dashboard address whose fragment holds a viewer token: it reads the API and writes nothing', async () => {
    const { code, out } = await weft(['dashboard', '--server', cp.url, '-o', 'json'], { WEFT_TOKEN: admin })
    expect(code).toBe(0)
    const { url } = JSON.parse(out) as { url: string }
    expect(url.startsWith(`${cp.url}/dashboard/#token=weft1.`)).toBe(true)
    const token = tokenOf(url)
    const bearer = { authorization: `Bearer ${token}` }

    const page = await fetch(url.split('#')[0] as string)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>Weft dashboard</title>')
    expect((await fetch(`${cp.url}/api/v1/graph`, { headers: bearer })).status).toBe(200)
    expect((await fetch(`${cp.url}/api/v1/config`, { headers: bearer })).status).toBe(200)
    const write = await fetch(`${cp.url}/api/v1/apply`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ files: [] }),
    })
    expect(write.status).toBe(403)
  })

  it('prints the address alone on stdout, so that scripts can capture it', async () => {
    const { code, out, err } = await weft(['dashboard'], { WEFT_SERVER: cp.url, WEFT_TOKEN: admin })
    expect(code).toBe(0)
    expect(out).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dashboard\/#token=weft1\.[\w.-]+\n$/)
    expect(err).toContain('changes nothing')
  })

  it('with --open and no browser launcher on PATH, prints the address instead', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'weft-no-browser-'))
    try {
      const { code, out, err } = await weft(['dashboard', '--open', '--server', cp.url], {
        WEFT_TOKEN: admin,
        PATH: empty,
      })
      expect(code).toBe(0)
      expect(err).toContain('could not start a browser')
      expect(out).toMatch(/\/dashboard\/#token=weft1\./)
    } finally {
      await rm(empty, { recursive: true, force: true })
    }
  })

  it('refuses without the admin token: a workload token cannot mint viewer tokens (exit 3)', async () => {
    const workload = cp.credentials.issue('default', 'reviews')
    const { code, out, err } = await weft(['dashboard', '--server', cp.url], { WEFT_TOKEN: workload })
    expect(code).toBe(3)
    expect(out).toBe('')
    expect(err).toMatch(/^weft: /)
  })
})
