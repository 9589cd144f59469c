import type { IncomingMessage } from 'node:http'
import { BadRequestError, PayloadTooLargeError } from '../errors.js'
import { DURATION_BUCKETS_MS } from './duration-quantile.js'

/** One side of an edge (`unknown` where the reporter could not tell). */
export interface EdgePeer {
  readonly namespace: string
  readonly workload: string
  readonly app: string
  readonly version: string
}

export interface EdgeDestination extends EdgePeer {
  /** The host that was called (`reviews.default.svc.cluster.local`). */
  readonly service: string
}

export interface ReportedEdge {
  readonly reporter: 'source' | 'destination'
  readonly source: EdgePeer
  readonly destination: EdgeDestination
  readonly protocol: 'http' | 'grpc'
  readonly mtls: boolean
  readonly requests: number
  readonly errors: number
  readonly codes: Readonly<Record<string, number>>
  readonly flags: Readonly<Record<string, number>>
  /** Per `DURATION_BUCKETS_MS` bound, then one overflow bucket; not cumulative. */
  readonly durationBuckets: readonly number[]
}

export interface ReportedEndpoint {
  /** `address:port`. */
  readonly address: string
  readonly healthy: boolean
  readonly ejected: boolean
  readonly ejectedUntil: number | null
}

export interface ReportedCluster {
  readonly cluster: string
  readonly service: string
  readonly subset: string | null
  readonly endpoints: readonly ReportedEndpoint[]
  readonly breaker: 'closed' | 'open' | 'halfOpen' | null
}

export interface ReportingWorkload extends EdgePeer {
  readonly service: string
}

/** `POST /api/v1/reports`: one SDK instance's traffic since its previous report (docs/api.md). */
export interface TrafficReport {
  readonly instance: string
  readonly workload: ReportingWorkload
  readonly intervalMs: number
  readonly edges: readonly ReportedEdge[]
  readonly clusters: readonly ReportedCluster[]
}

/** A report is small by design: per-edge counts, not per-request data. */
export const MAX_REPORT_BYTES = 256 * 1024
const MAX_EDGES = 2000
const MAX_CLUSTERS = 1000
const MAX_ENDPOINTS = 1000
const MAX_KEYS = 64
const MAX_INTERVAL_MS = 300_000
const MAX_NAME = 253
const CODE = /^\d{1,3}$/
const FLAG = /^[A-Za-z_]{1,16}$/
const BREAKERS = new Set(['closed', 'open', 'halfOpen'])

/** Reads a report's body, refusing one over `MAX_REPORT_BYTES` (413) before it is all in memory. */
export async function readReportBody(req: IncomingMessage): Promise<unknown> {
  const tooLarge = () =>
    new PayloadTooLargeError(
      `a traffic report may be at most ${MAX_REPORT_BYTES} bytes: report more often, or call fewer distinct peers`,
    )
  if (Number(req.headers['content-length']) > MAX_REPORT_BYTES) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_REPORT_BYTES) throw tooLarge()
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (error) {
    throw new BadRequestError(`the report is not JSON: ${(error as Error).message}`)
  }
}

function fail(field: string, what: string): never {
  throw new BadRequestError(`report ${field} ${what}`)
}

function object(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'must be an object')
  return value as Record<string, unknown>
}

function list(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value)) fail(field, 'must be a list')
  if (value.length > max) fail(field, `may hold at most ${max} entries`)
  return value
}

function name(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_NAME)
    fail(field, `must be a string of 1–${MAX_NAME} characters`)
  return value
}

function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    fail(field, 'must be a whole number ≥ 0')
  return value
}

function counts(value: unknown, field: string, key: RegExp): Record<string, number> {
  const entries = Object.entries(object(value, field))
  if (entries.length > MAX_KEYS) fail(field, `may hold at most ${MAX_KEYS} entries`)
  const out: Record<string, number> = {}
  for (const [k, v] of entries) {
    if (!key.test(k)) fail(`${field}`, `has a key ${JSON.stringify(k.slice(0, 20))} that is not ${key}`)
    out[k] = count(v, `${field}.${k}`)
  }
  return out
}

function peer(value: unknown, field: string): EdgePeer {
  const p = object(value, field)
  return {
    namespace: name(p.namespace, `${field}.namespace`),
    workload: name(p.workload, `${field}.workload`),
    app: name(p.app, `${field}.app`),
    version: name(p.version, `${field}.version`),
  }
}

function edge(value: unknown, field: string, namespace: string): ReportedEdge {
  const e = object(value, field)
  if (e.reporter !== 'source' && e.reporter !== 'destination')
    fail(`${field}.reporter`, 'must be "source" or "destination"')
  if (e.protocol !== 'http' && e.protocol !== 'grpc') fail(`${field}.protocol`, 'must be "http" or "grpc"')
  if (typeof e.mtls !== 'boolean') fail(`${field}.mtls`, 'must be true or false')
  const source = peer(e.source, `${field}.source`)
  const d = object(e.destination, `${field}.destination`)
  const destination = {
    service: name(d.service, `${field}.destination.service`),
    ...peer(d, `${field}.destination`),
  }
  // An instance reports its own side of each call: it speaks for no other namespace's workloads.
  const own = e.reporter === 'source' ? source : destination
  if (own.namespace !== namespace)
    fail(`${field}.${e.reporter}.namespace`, `must be the reporting workload's namespace ${namespace}`)
  const requests = count(e.requests, `${field}.requests`)
  const errors = count(e.errors, `${field}.errors`)
  if (errors > requests) fail(`${field}.errors`, 'must not exceed requests')
  const buckets = list(e.durationBuckets, `${field}.durationBuckets`, DURATION_BUCKETS_MS.length + 1)
  if (buckets.length !== DURATION_BUCKETS_MS.length + 1)
    fail(
      `${field}.durationBuckets`,
      `must hold ${DURATION_BUCKETS_MS.length + 1} counts (one per bound of @weft/telemetry's DURATION_BUCKETS_MS, then one above them)`,
    )
  return {
    reporter: e.reporter,
    source,
    destination,
    protocol: e.protocol,
    mtls: e.mtls,
    requests,
    errors,
    codes: counts(e.codes, `${field}.codes`, CODE),
    flags: counts(e.flags, `${field}.flags`, FLAG),
    durationBuckets: buckets.map((b, i) => count(b, `${field}.durationBuckets[${i}]`)),
  }
}

function cluster(value: unknown, field: string): ReportedCluster {
  const c = object(value, field)
  const breaker = c.breaker ?? null
  if (breaker !== null && !BREAKERS.has(breaker as string))
    fail(`${field}.breaker`, 'must be "closed", "open", "halfOpen" or null')
  const subset = c.subset ?? null
  return {
    cluster: name(c.cluster, `${field}.cluster`),
    service: name(c.service, `${field}.service`),
    subset: subset === null ? null : name(subset, `${field}.subset`),
    endpoints: list(c.endpoints, `${field}.endpoints`, MAX_ENDPOINTS).map((v, i) => {
      const f = `${field}.endpoints[${i}]`
      const e = object(v, f)
      if (typeof e.healthy !== 'boolean') fail(`${f}.healthy`, 'must be true or false')
      if (typeof e.ejected !== 'boolean') fail(`${f}.ejected`, 'must be true or false')
      const until = e.ejectedUntil ?? null
      if (until !== null && (typeof until !== 'number' || !Number.isFinite(until)))
        fail(`${f}.ejectedUntil`, 'must be a time in ms since the epoch, or null')
      return {
        address: name(e.address, `${f}.address`),
        healthy: e.healthy,
        ejected: e.ejected,
        ejectedUntil: until,
      }
    }),
    breaker: breaker as ReportedCluster['breaker'],
  }
}

/** Checks a report field by field; a BadRequestError names the first field that is wrong. */
export function parseTrafficReport(value: unknown): TrafficReport {
  const r = object(value, 'body')
  const w = object(r.workload, 'workload')
  const workload = { service: name(w.service, 'workload.service'), ...peer(w, 'workload') }
  const intervalMs = count(r.intervalMs, 'intervalMs')
  if (intervalMs > MAX_INTERVAL_MS) fail('intervalMs', `must be at most ${MAX_INTERVAL_MS} (5 minutes)`)
  return {
    instance: name(r.instance, 'instance'),
    workload,
    intervalMs,
    edges: list(r.edges ?? [], 'edges', MAX_EDGES).map((e, i) => edge(e, `edges[${i}]`, workload.namespace)),
    clusters: list(r.clusters ?? [], 'clusters', MAX_CLUSTERS).map((c, i) => cluster(c, `clusters[${i}]`)),
  }
}
