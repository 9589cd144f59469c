// Bookinfo on one machine: a control plane with a file store in a temporary directory, and each
// service in its own process on 127.0.0.1, joined to the mesh with a workload token of its own
// service account (Bookinfo's `bookinfo-<service>` names, which Istio's authorization task uses).
import { fork } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startControlPlane } from '@weft/control-plane'

const here = dirname(fileURLToPath(import.meta.url))
export const exampleDir = resolve(here, '..')
export const rulesDir = join(exampleDir, 'rules')
export const istioDir = process.env.WEFT_ISTIO_DIR ?? resolve(exampleDir, '../../../shared/istio')

export const SERVICES = [
  { name: 'details', file: 'details.mjs', version: 'v1' },
  { name: 'ratings', file: 'ratings.mjs', version: 'v1' },
  { name: 'reviews', file: 'reviews.mjs', version: 'v1' },
  { name: 'reviews', file: 'reviews.mjs', version: 'v2' },
  { name: 'reviews', file: 'reviews.mjs', version: 'v3' },
  { name: 'productpage', file: 'productpage.mjs', version: 'v1' },
]
const GATEWAY = { name: 'istio-ingressgateway', file: 'gateway.mjs', version: 'v1' }

// Generous: on a busy 2-core machine seven services starting at once take 15-40 s.
const START_TIMEOUT_MS = 90_000
const SYNC_TIMEOUT_MS = 15_000

/** Reads one of Istio's Bookinfo files (`bookinfo/NAME`) or one of this example's (`rules/NAME`). */
export async function ruleFile(path) {
  const [where, name] = path.split('/')
  const dir = where === 'bookinfo' ? join(istioDir, 'bookinfo') : rulesDir
  return { file: path, text: await readFile(join(dir, name), 'utf8') }
}

/**
 * The dashboard's address with a read-only viewer token in its fragment, minted with the admin
 * token as `weft dashboard` does.
 */
export async function dashboardUrl(controlPlaneUrl, admin) {
  const { token } = await api(controlPlaneUrl, admin, 'POST', '/api/v1/tokens', { viewer: true })
  return `${controlPlaneUrl}/dashboard/#token=${encodeURIComponent(token)}`
}

/**
 * Starts the control plane and every service; resolves when all are registered and hold the
 * current config. `gatewayPort` 0 picks a free port for the ingress; `env` is added to every
 * service's environment (e.g. `WEFT_REPORT_INTERVAL_MS`).
 */
export async function startBookinfo({ gatewayPort = 0, log = () => {}, env = {} } = {}) {
  const workDir = await mkdtemp(join(tmpdir(), 'weft-bookinfo-'))
  const logDir = join(workDir, 'logs')
  await mkdir(logDir)
  const cp = await startControlPlane({ port: 0, dataDir: join(workDir, 'control-plane') })
  const admin = (await readFile(cp.adminTokenFile, 'utf8')).trim()
  const children = []
  const bookinfo = {
    controlPlaneUrl: cp.url,
    workDir,
    logDir,
    services: [],
    gateway: undefined,
    apply: (...paths) => apply(cp.url, admin, paths),
    remove: (...keys) => remove(cp.url, admin, keys),
    sync: (version) => sync(cp.url, admin, version, children.length),
    dashboardUrl: () => dashboardUrl(cp.url, admin),
    close: async () => {
      await Promise.all(children.map(stop))
      await cp.close()
      await rm(workDir, { recursive: true, force: true })
    },
  }
  try {
    // Istio's getting-started applies the default destination rules before any task; here it also
    // gives the services a first snapshot to join with (see the README on an empty control plane).
    await apply(cp.url, admin, ['bookinfo/destination-rule-all.yaml'])
    const start = (s, own) => {
      log(`starting ${s.name} ${s.version}`)
      const child = spawnService(
        s,
        {
          WEFT_CONTROL_PLANE: cp.url,
          WEFT_TOKEN: cp.credentials.issue('default', `bookinfo-${s.name}`),
          WEFT_CACHE_DIR: join(workDir, 'cache', `${s.name}-${s.version}`),
          VERSION: s.version,
          ...env,
          ...own,
        },
        join(logDir, `${s.name}-${s.version}.log`),
      )
      children.push(child)
      return child.ready
    }
    bookinfo.services = await Promise.all(SERVICES.map((s) => start(s)))
    bookinfo.gateway = await start(GATEWAY, { GATEWAY_PORT: String(gatewayPort) })
    await bookinfo.sync(await currentVersion(cp.url, admin))
    return bookinfo
  } catch (error) {
    await bookinfo.close()
    throw error
  }
}

function spawnService(s, env, logFile) {
  const out = createWriteStream(logFile)
  const child = fork(join(exampleDir, 'services', s.file), [], {
    env: { ...process.env, ...env },
    // Services load the built packages as a user's process does, whoever starts them (a test
    // runner's loader flags stay with the test runner).
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  child.stdout.pipe(out)
  child.stderr.pipe(out)
  child.ready = new Promise((ready, failed) => {
    const timer = setTimeout(
      () =>
        failed(
          new Error(`${s.name} ${s.version} did not start within ${START_TIMEOUT_MS} ms (see ${logFile})`),
        ),
      START_TIMEOUT_MS,
    )
    child.once('message', (m) => {
      clearTimeout(timer)
      ready(m.ready)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      out.end(() => {
        const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-12).join('\n    ')
        failed(new Error(`${s.name} ${s.version} exited with ${code}:\n    ${tail}`))
      })
    })
  })
  child.ready.catch(() => {})
  return child
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((done) => child.once('exit', done))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

async function api(url, admin, method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const json = await res.json()
  if (!res.ok) {
    throw new Error(
      `${method} ${path}: ${res.status} ${json.code}: ${json.message}${json.errors ? `\n  ${json.errors.join('\n  ')}` : ''}`,
    )
  }
  return json
}

/**
 * Applies files (`bookinfo/NAME`, `rules/NAME`, or `{ file, text }`) one after the other, as
 * Istio's tasks `kubectl apply` them — a later file replaces what an earlier one named — and
 * waits until every workload holds the last.
 */
async function apply(url, admin, paths) {
  let answer
  for (const path of paths) {
    const file = typeof path === 'string' ? await ruleFile(path) : path
    answer = await api(url, admin, 'POST', '/api/v1/apply', { files: [file] })
  }
  await sync(url, admin, answer.version)
  return answer
}

/** Deletes resources (`Kind/namespace/name`), those that exist, and waits until every workload knows. */
async function remove(url, admin, keys) {
  let version = await currentVersion(url, admin)
  for (const key of keys) {
    try {
      version = (await api(url, admin, 'DELETE', `/api/v1/resources/${key}`)).version
    } catch (error) {
      if (!/WEFT_CP_NOT_FOUND/.test(error.message)) throw error
    }
  }
  await sync(url, admin, version)
}

async function currentVersion(url, admin) {
  return (await api(url, admin, 'GET', '/api/v1/status')).version
}

/**
 * Waits until every connected workload has applied `version` or later: the control plane is not
 * on the request path, so a rule is in force only once each SDK has taken it.
 */
async function sync(url, admin, version, expected) {
  const deadline = Date.now() + SYNC_TIMEOUT_MS
  let workloads = []
  while (Date.now() < deadline) {
    const status = await api(url, admin, 'GET', '/api/v1/status')
    workloads = status.workloads.filter((w) => w.connected)
    const enough = expected === undefined || workloads.length >= expected
    if (enough && workloads.every((w) => (w.applied ?? -1) >= version)) return
    const refused = workloads.find((w) => w.state === 'NACK' && w.sent >= version)
    if (refused) throw new Error(`${refused.instance} refused config version ${version}: ${refused.reason}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  const behind = workloads.filter((w) => (w.applied ?? -1) < version).map((w) => `${w.instance}@${w.applied}`)
  throw new Error(
    `workloads did not take config version ${version} within ${SYNC_TIMEOUT_MS} ms: ${behind.join(', ') || 'too few connected'}`,
  )
}
