import type { IncomingMessage, ServerResponse } from 'node:http'
import type { RegistryEndpoint, SourceText } from '@weft/config'
import type { CertificateAuthority } from '@weft/identity'
import { planApply } from './apply-resources.js'
import { configWithFindings, describeService, dumpWorkload, type StateSnapshot } from './config-views.js'
import {
  type Credentials,
  type Principal,
  requireAdmin,
  requireMeshReader,
  requireNamespace,
  requireWriter,
} from './credentials.js'
import {
  BadRequestError,
  ConfigRefusedError,
  ControlPlaneError,
  ForbiddenError,
  NotFoundError,
} from './errors.js'
import type { ConfigStore, StoredResource } from './store/config-store.js'
import type { GraphView } from './traffic/graph-stream.js'
import type { MeshTraffic } from './traffic/mesh-traffic.js'
import { parseTrafficReport, readReportBody } from './traffic/traffic-report.js'
import type { WatchHub } from './watch-hub.js'
import type { WorkloadStatuses } from './workload-status.js'

const MAX_BODY_BYTES = 16 * 1024 * 1024
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/

export interface ApiContext {
  readonly store: ConfigStore
  readonly views: StateSnapshot
  readonly ca: CertificateAuthority
  readonly credentials: Credentials
  readonly statuses: WorkloadStatuses
  readonly hub: WatchHub
  readonly traffic: MeshTraffic
  readonly leaseTtlMs: number
  readonly log: (line: string) => void
  ready(): boolean
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new BadRequestError(`the body is over ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

async function json<T>(req: IncomingMessage): Promise<T> {
  try {
    return JSON.parse(await body(req)) as T
  } catch (error) {
    if (error instanceof ControlPlaneError) throw error
    throw new BadRequestError(`the body is not JSON: ${(error as Error).message}`)
  }
}

function send(res: ServerResponse, status: number, value?: unknown): void {
  if (value === undefined) {
    res.writeHead(status).end()
    return
  }
  const text = JSON.stringify(value)
  res
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text)
}

function stored(r: StoredResource) {
  return r.resource
}

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '')
    throw new BadRequestError(`${field} must be a non-empty string`)
  return value
}

/** `{ files: [{ file, text }] }`: several files applied as one set, each named in error lines. */
function filesOf(value: { files?: unknown }): SourceText[] {
  const files = value.files
  if (!Array.isArray(files) || files.length === 0) {
    throw new BadRequestError('files must be a non-empty list of { file, text }')
  }
  return files.map((f: { file?: unknown; text?: unknown }, i) => ({
    file: typeof f.file === 'string' ? f.file : `files[${i}]`,
    text: str(f.text, `files[${i}].text`),
  }))
}

/** `?window=SECONDS&namespace=NS` of the graph routes; a workload token sees its own namespace. */
function graphView(who: Principal, url: URL, maxSeconds: number): GraphView {
  const asked = url.searchParams.get('window')
  const windowSeconds = asked === null ? maxSeconds : Number(asked)
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > maxSeconds)
    throw new BadRequestError(`window must be a whole number of seconds from 1 to ${maxSeconds}`)
  const namespace = url.searchParams.get('namespace') ?? (who.kind === 'workload' ? who.namespace : undefined)
  if (namespace !== undefined) requireNamespace(who, namespace)
  return { windowSeconds, namespace }
}

/**
 * The control plane's HTTP API (docs/api.md). Health and readiness are open; everything else
 * needs a token: writes the admin token, workload calls a workload token for their namespace,
 * and a viewer token reads everything and writes nothing.
 */
export function createApiHandler(ctx: ApiContext): (req: IncomingMessage, res: ServerResponse) => void {
  const routes: [
    method: string,
    pattern: RegExp,
    handle: (
      req: IncomingMessage,
      res: ServerResponse,
      who: Principal,
      match: RegExpMatchArray,
      url: URL,
    ) => Promise<void>,
  ][] = [
    [
      'POST',
      /^\/api\/v1\/apply$/,
      async (req, res, who, _m, url) => {
        requireAdmin(who)
        const namespace = url.searchParams.get('namespace') ?? 'default'
        const texts = req.headers['content-type']?.startsWith('application/json')
          ? filesOf(await json<{ files?: unknown }>(req))
          : [{ file: url.searchParams.get('file') ?? 'apply', text: await body(req) }]
        const plan = planApply(texts, ctx.store.state(), namespace)
        const state = plan.change.put.length ? await ctx.store.commit(plan.change) : ctx.store.state()
        const results = plan.actions.map(({ key, action }) => ({
          key,
          action,
          resourceVersion: state.resources.get(key)?.resourceVersion,
        }))
        ctx.log(
          `apply: ${results.filter((r) => r.action !== 'unchanged').length} changed at version ${state.revision}`,
        )
        send(res, 200, { version: state.revision, results, warnings: plan.warnings })
      },
    ],
    [
      'GET',
      /^\/api\/v1\/resources$/,
      async (_req, res, who, _m, url) => {
        const kind = url.searchParams.get('kind') ?? undefined
        const namespace =
          url.searchParams.get('namespace') ?? (who.kind === 'workload' ? who.namespace : undefined)
        if (namespace !== undefined) requireNamespace(who, namespace)
        else requireMeshReader(who)
        const items = [...ctx.store.state().resources.values()]
          .filter(
            (r) =>
              (kind === undefined || r.resource.kind === kind) &&
              (namespace === undefined || r.resource.metadata.namespace === namespace),
          )
          .map(stored)
        send(res, 200, { version: ctx.store.state().revision, items })
      },
    ],
    [
      'GET',
      /^\/api\/v1\/resources\/([A-Za-z]+)\/([^/]+)\/([^/]+)$/,
      async (_req, res, who, m) => {
        const [, kind, namespace, name] = m as unknown as [string, string, string, string]
        requireNamespace(who, namespace)
        const found = ctx.store.state().resources.get(`${kind}/${namespace}/${name}`)
        if (!found) throw new NotFoundError(`${kind}/${namespace}/${name} does not exist`)
        send(res, 200, found.resource)
      },
    ],
    [
      'DELETE',
      /^\/api\/v1\/resources\/([A-Za-z]+)\/([^/]+)\/([^/]+)$/,
      async (_req, res, who, m, url) => {
        requireAdmin(who)
        const [, kind, namespace, name] = m as unknown as [string, string, string, string]
        const key = `${kind}/${namespace}/${name}`
        const found = ctx.store.state().resources.get(key)
        if (!found) throw new NotFoundError(`${key} does not exist`)
        const version = url.searchParams.get('resourceVersion')
        const state = await ctx.store.commit({
          put: [],
          delete: [key],
          expect: new Map([[key, version ?? found.resourceVersion]]),
        })
        ctx.log(`delete: ${key} at version ${state.revision}`)
        send(res, 200, { version: state.revision, results: [{ key, action: 'deleted' }] })
      },
    ],
    [
      'GET',
      /^\/api\/v1\/watch$/,
      async (req, res, who, _m, url) => {
        if (who.kind === 'viewer')
          throw new ForbiddenError(
            'the watch stream is for workloads (it registers an instance): use a workload token',
          )
        const namespace = str(url.searchParams.get('namespace'), 'namespace')
        requireNamespace(who, namespace)
        const instance = str(url.searchParams.get('instance'), 'instance')
        const service = str(url.searchParams.get('service'), 'service')
        let labels: Record<string, string> = {}
        try {
          labels = JSON.parse(url.searchParams.get('labels') ?? '{}') as Record<string, string>
        } catch {
          throw new BadRequestError('labels must be a JSON object')
        }
        const last = req.headers['last-event-id']
        ctx.statuses.connected(instance, service, namespace, labels)
        ctx.hub.add(instance, res, typeof last === 'string' && last !== '' ? last : undefined)
      },
    ],
    [
      'POST',
      /^\/api\/v1\/ack$/,
      async (req, res, who) => {
        const report = await json<{
          instance?: unknown
          version?: unknown
          error?: unknown
          applied?: unknown
        }>(req)
        const instance = str(report.instance, 'instance')
        if (typeof report.version !== 'number') throw new BadRequestError('version must be a number')
        const known = ctx.statuses.get(instance)
        if (!known) throw new NotFoundError(`instance ${instance} is not watching this control plane`)
        requireNamespace(who, known.namespace)
        const reason = typeof report.error === 'string' ? report.error : undefined
        // A NACK names the version still in force: reports are coalesced, so its ACK may not have come.
        if (reason !== undefined && typeof report.applied === 'number')
          ctx.statuses.report(instance, report.applied, undefined)
        ctx.statuses.report(instance, report.version, reason)
        if (reason !== undefined)
          ctx.log(
            `NACK: ${known.namespace}/${known.service} (${instance}) refused version ${report.version}: ${reason}`,
          )
        send(res, 204)
      },
    ],
    [
      'POST',
      /^\/api\/v1\/endpoints$/,
      async (req, res, who) => {
        const e = await json<Partial<RegistryEndpoint>>(req)
        const namespace = str(e.namespace, 'namespace')
        requireNamespace(who, namespace)
        const service = str(e.service, 'service')
        if (!NAME.test(service)) throw new BadRequestError(`service ${service} is not a DNS-1123 name`)
        if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
          throw new BadRequestError('port must be an integer in 1–65535')
        }
        const endpoint: RegistryEndpoint = {
          service,
          namespace,
          address: str(e.address, 'address'),
          port: e.port,
          labels: { ...(e.labels ?? {}) },
          ...(e.locality ? { locality: e.locality } : {}),
          ...(e.weight ? { weight: e.weight } : {}),
          // A workload speaks for its own service account only.
          ...(who.kind === 'workload'
            ? { serviceAccount: who.serviceAccount }
            : e.serviceAccount
              ? { serviceAccount: e.serviceAccount }
              : {}),
          ...(e.mtls !== undefined ? { mtls: Boolean(e.mtls) } : {}),
        }
        const lease = await ctx.store.register(endpoint, ctx.leaseTtlMs)
        send(res, 201, { lease, ttlMs: ctx.leaseTtlMs, version: ctx.store.state().revision })
      },
    ],
    [
      'PUT',
      /^\/api\/v1\/endpoints\/([^/]+)$/,
      async (_req, res, who, m) => {
        const lease = m[1] as string
        const held = ctx.store.state().endpoints.get(lease)
        if (held) requireNamespace(who, held.endpoint.namespace)
        if (!held || !(await ctx.store.keepAlive(lease)))
          throw new NotFoundError(`lease ${lease} has lapsed; register again`)
        send(res, 204)
      },
    ],
    [
      'DELETE',
      /^\/api\/v1\/endpoints\/([^/]+)$/,
      async (_req, res, who, m) => {
        const lease = m[1] as string
        const held = ctx.store.state().endpoints.get(lease)
        if (held) {
          requireNamespace(who, held.endpoint.namespace)
          await ctx.store.deregister(lease)
        }
        send(res, 204)
      },
    ],
    [
      'GET',
      /^\/api\/v1\/status$/,
      async (_req, res, who) => {
        const namespace = who.kind === 'workload' ? who.namespace : undefined
        const state = ctx.store.state()
        send(res, 200, {
          version: state.revision,
          endpoints: [...state.endpoints.values()]
            .filter((e) => namespace === undefined || e.endpoint.namespace === namespace)
            .map((e) => e.endpoint),
          workloads: ctx.statuses.list(namespace),
        })
      },
    ],
    [
      'POST',
      /^\/api\/v1\/certificates$/,
      async (req, res, who) => {
        // A workload gets a certificate for the namespace and service account its token names,
        // whatever its request asks for: the CA sets the identity itself.
        if (who.kind !== 'workload')
          throw new BadRequestError('certificates are for workloads: use a workload token')
        const asked = await json<{ csr?: unknown; ttlMs?: unknown }>(req)
        const csr = str(asked.csr, 'csr')
        let chain: string
        try {
          chain = await ctx.ca.sign(csr, {
            namespace: who.namespace,
            serviceAccount: who.serviceAccount,
            ...(typeof asked.ttlMs === 'number' ? { ttlMs: asked.ttlMs } : {}),
          })
        } catch (error) {
          throw new BadRequestError(`the certificate request was refused: ${(error as Error).message}`)
        }
        ctx.log(`certificate issued for ${who.namespace}/${who.serviceAccount}`)
        send(res, 201, { certificateChain: chain, trustBundle: ctx.ca.trustBundlePem })
      },
    ],
    [
      'GET',
      /^\/api\/v1\/services\/([^/]+)\/([^/]+)$/,
      async (_req, res, who, m) => {
        const [, namespace, name] = m as unknown as [string, string, string]
        requireNamespace(who, namespace)
        const state = ctx.store.state()
        send(
          res,
          200,
          describeService(
            ctx.views.of(state),
            state,
            ctx.statuses.list(),
            namespace,
            name,
            ctx.traffic.observed(),
          ),
        )
      },
    ],
    [
      'GET',
      /^\/api\/v1\/dump$/,
      async (_req, res, who, _m, url) => {
        const namespace = str(url.searchParams.get('namespace'), 'namespace')
        const service = str(url.searchParams.get('service'), 'service')
        requireNamespace(who, namespace)
        const state = ctx.store.state()
        send(res, 200, dumpWorkload(ctx.views.of(state), state, ctx.statuses.list(), namespace, service))
      },
    ],
    [
      'POST',
      /^\/api\/v1\/tokens$/,
      async (req, res, who) => {
        requireAdmin(who)
        const asked = await json<{ namespace?: unknown; serviceAccount?: unknown; viewer?: unknown }>(req)
        if (asked.viewer === true) {
          ctx.log('viewer token issued')
          return send(res, 201, { viewer: true, token: ctx.credentials.issueViewer() })
        }
        const namespace = str(asked.namespace, 'namespace')
        const serviceAccount = str(asked.serviceAccount, 'serviceAccount')
        for (const [field, value] of [
          ['namespace', namespace],
          ['serviceAccount', serviceAccount],
        ] as const) {
          if (!NAME.test(value)) throw new BadRequestError(`${field} ${value} is not a DNS-1123 name`)
        }
        ctx.log(`token issued for ${namespace}/${serviceAccount}`)
        send(res, 201, { namespace, serviceAccount, token: ctx.credentials.issue(namespace, serviceAccount) })
      },
    ],
    [
      'POST',
      /^\/api\/v1\/reports$/,
      async (req, res, who) => {
        const report = parseTrafficReport(await readReportBody(req))
        requireNamespace(who, report.workload.namespace)
        ctx.traffic.report(report)
        send(res, 204)
      },
    ],
    [
      'GET',
      /^\/api\/v1\/graph$/,
      async (_req, res, who, _m, url) => {
        send(res, 200, ctx.traffic.graph(graphView(who, url, ctx.traffic.window.windowMs / 1000)))
      },
    ],
    [
      'GET',
      /^\/api\/v1\/graph\/stream$/,
      async (_req, res, who, _m, url) => {
        ctx.traffic.stream.add(res, graphView(who, url, ctx.traffic.window.windowMs / 1000))
      },
    ],
    [
      'GET',
      /^\/api\/v1\/config$/,
      async (_req, res, who, _m, url) => {
        const namespace =
          url.searchParams.get('namespace') ?? (who.kind === 'workload' ? who.namespace : undefined)
        if (namespace !== undefined) requireNamespace(who, namespace)
        send(res, 200, configWithFindings(ctx.views, ctx.store.state(), namespace))
      },
    ],
  ]

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://control-plane')
    const path = url.pathname
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { ok: true })
    if (req.method === 'GET' && path === '/readyz')
      return send(res, ctx.ready() ? 200 : 503, { ready: ctx.ready() })
    const handle = async () => {
      const matching = routes.filter(([, pattern]) => pattern.test(path))
      if (matching.length === 0) throw new NotFoundError(`no API at ${path}; see docs/api.md`)
      const route = matching.find(([method]) => method === req.method)
      if (!route) {
        res.setHeader('allow', matching.map(([m]) => m).join(', '))
        return send(res, 405, { code: 'WEFT_CP_METHOD', message: `${req.method} is not allowed on ${path}` })
      }
      const who = ctx.credentials.authenticate(req.headers.authorization)
      if (req.method !== 'GET') requireWriter(who)
      await route[2](req, res, who, path.match(route[1]) as RegExpMatchArray, url)
    }
    handle().catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (error instanceof ControlPlaneError) {
        const lines = error instanceof ConfigRefusedError ? { errors: error.lines } : {}
        return send(res, error.status, { code: error.code, message: error.message, ...lines })
      }
      ctx.log(`internal error on ${req.method} ${path}: ${(error as Error).stack ?? String(error)}`)
      send(res, 500, { code: 'WEFT_CP_INTERNAL', message: 'internal error; see the control plane log' })
    })
  }
}
