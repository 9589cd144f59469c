import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { RegistryEndpoint } from '@weft/config'
import { Agent, request } from 'undici'
import { Debounced } from './debounced.js'
import { type DeltaPayload, type SnapshotPayload, WatchedConfig } from './watched-config.js'

export type { SnapshotPayload } from './watched-config.js'

export interface ControlPlaneClientOptions {
  /** One or more replicas: tried in turn, the next after a failure. */
  readonly urls: readonly string[]
  readonly token: string
  /** This process's id in `weft status`. */
  readonly instance: string
  readonly service: string
  readonly namespace: string
  readonly labels: Readonly<Record<string, string>>
  /** Applies the whole config; returns why it was refused (the NACK's reason), or undefined (ACK). */
  readonly apply: (payload: SnapshotPayload) => string | undefined
  /** Where the last good snapshot is kept, for a start while the control plane is away. */
  readonly cacheFile?: string
  /** Called when the connection state changes; never with a token. */
  readonly onConnection?: (connected: boolean, url: string, error?: Error) => void
}

/** What the client last told the control plane about a version: ACK, or NACK with the reason. */
interface Report {
  readonly version: number
  readonly error?: string
  /** With a NACK: the version still in force. */
  readonly applied?: number
}

const BACKOFF_MIN_MS = 100
const BACKOFF_MAX_MS = 5_000
// The control plane writes a keepalive every 15 s; twice that without a byte means the stream is dead.
const READ_TIMEOUT_MS = 35_000
// Reports (ACK/NACK) and disk-cache writes are bookkeeping, not part of applying a version: each
// waits until changes have been quiet for a while, or during a long burst of changes until a cap
// has passed, and then carries the newest version only (see Debounced). Both waits are random, so
// that a stream of changes reaching every instance does not come back to the control plane as one
// burst of reports, nor cost every process on a machine its writes at the same moment: with a fixed
// cap, the propagation benchmark's 100 instances all reported in one round every 2 s, and that round
// was the slowest of its run. `weft status` shows an isolated change's apply within REPORT_QUIET_MS,
// and a long burst's progress within REPORT_MAX_WAIT_MS. A restart while the control plane is away
// starts from the config of up to CACHE_MAX_WAIT_MS ago.
const REPORT_QUIET_MS: readonly [min: number, max: number] = [100, 200]
const REPORT_MAX_WAIT_MS: readonly [min: number, max: number] = [1_500, 2_500]
const CACHE_QUIET_MS: readonly [min: number, max: number] = [500, 1_000]
const CACHE_MAX_WAIT_MS: readonly [min: number, max: number] = [4_000, 6_000]

/** Full jitter, as AWS describes it: a random wait up to the capped exponential. */
function backoffMs(failures: number): number {
  return Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** failures)
}

/**
 * Replaces the cache file atomically (a temporary file of this writer's own renamed over it),
 * without fsync: it is a cache — the control plane holds the truth — so a crash may cost the
 * newest version, never a torn file; and an fsync per change would slow every change down.
 */
async function writeCache(path: string, temp: string, text: string): Promise<void> {
  try {
    await writeFile(temp, text, { mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    await mkdir(dirname(path), { recursive: true })
    await writeFile(temp, text, { mode: 0o600 })
  }
  await rename(temp, path)
}

/**
 * The SDK's connection to the control plane: a watch stream (server-sent events) that delivers
 * the whole config and then deltas, each applied and answered with ACK or NACK; reconnection
 * with jittered back-off across the replicas, resuming from the version it holds; endpoint
 * registration kept alive by heartbeats. Its calls go through a private undici Agent, so they
 * are never meshed, traced or counted as the application's traffic.
 */
export class ControlPlaneClient {
  readonly #options: ControlPlaneClientOptions
  readonly #agent = new Agent({ bodyTimeout: READ_TIMEOUT_MS, headersTimeout: 10_000 })
  /** The control plane's config as last received: what the next delta applies to. */
  readonly #watched = new WatchedConfig()
  /** The version in force (applied), if any, and the store it counts in. */
  #applied: number | undefined
  #appliedStore: string | undefined
  #urlIndex = 0
  #closed = false
  #abort: AbortController | undefined
  #first: { resolve: (ok: boolean) => void } | undefined
  readonly #registrations = new Set<Registration>()
  /** The newest report, sent again when a reconnection finds nothing new. */
  #lastReport: Report | undefined
  /** A report not sent yet: while one is in flight, newer ones replace it. */
  #pendingReport: Report | undefined
  readonly #reports = new Debounced(() => this.#sendReport(), REPORT_QUIET_MS, REPORT_MAX_WAIT_MS)
  readonly #cacheTemp: string | undefined
  /** The newest applied config not yet on disk: raw event text, or the assembled payload. */
  #cacheDue: SnapshotPayload | string | undefined
  readonly #caching = new Debounced(() => this.#writeDueCache(), CACHE_QUIET_MS, CACHE_MAX_WAIT_MS)

  constructor(options: ControlPlaneClientOptions) {
    if (options.urls.length === 0) throw new Error('no control-plane URL')
    this.#options = options
    this.#cacheTemp = options.cacheFile
      ? `${options.cacheFile}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`
      : undefined
  }

  /** The version in force, if any. */
  get version(): number | undefined {
    return this.#applied
  }

  get url(): string {
    return this.#options.urls[this.#urlIndex % this.#options.urls.length] as string
  }

  /**
   * Starts watching. Resolves true once a first snapshot is applied, false if none arrived
   * within `waitMs` (the watch keeps trying in the background).
   */
  start(waitMs: number): Promise<boolean> {
    const first = new Promise<boolean>((resolve) => {
      this.#first = { resolve }
      setTimeout(() => resolve(false), waitMs).unref()
    })
    void this.#watchLoop()
    return first
  }

  /** The snapshot kept on disk by an earlier run, if any. */
  async cached(): Promise<SnapshotPayload | undefined> {
    if (!this.#options.cacheFile) return undefined
    try {
      return JSON.parse(await readFile(this.#options.cacheFile, 'utf8')) as SnapshotPayload
    } catch {
      return undefined
    }
  }

  /** Marks a cached snapshot as the one in force, so the watch resumes from its version. */
  adopt(payload: SnapshotPayload): void {
    this.#watched.snapshot(payload)
    this.#applied = payload.version
    this.#appliedStore = payload.store
    this.#lastReport = { version: payload.version }
  }

  /** Registers an endpoint and keeps its lease alive until `close()`. */
  async register(endpoint: RegistryEndpoint): Promise<void> {
    const registration = new Registration(this, endpoint)
    this.#registrations.add(registration)
    await registration.start()
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#abort?.abort()
    this.#reports.cancel()
    await Promise.all([...this.#registrations].map((r) => r.stop()))
    // A graceful close leaves the newest applied config on disk.
    await this.#caching.flush()
    await this.#agent.close()
  }

  /** @internal */
  async call(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const res = await request(`${this.url}${path}`, {
      method,
      dispatcher: this.#agent,
      headers: {
        authorization: `Bearer ${this.#options.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.body.text()
    return { status: res.statusCode, json: text ? JSON.parse(text) : undefined }
  }

  get closed(): boolean {
    return this.#closed
  }

  async #watchLoop(): Promise<void> {
    let failures = 0
    while (!this.#closed) {
      const url = this.url
      try {
        await this.#watch(url, () => {
          failures = 0
        })
        if (this.#closed) return
        this.#options.onConnection?.(false, url)
      } catch (error) {
        if (this.#closed) return
        this.#options.onConnection?.(false, url, error as Error)
        failures++
        this.#urlIndex++
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs(failures)))
    }
  }

  async #watch(url: string, onOpen: () => void): Promise<void> {
    const o = this.#options
    const query = new URLSearchParams({
      instance: o.instance,
      service: o.service,
      namespace: o.namespace,
      labels: JSON.stringify(o.labels),
    })
    this.#abort = new AbortController()
    const held = this.#watched.lastEventId
    const res = await request(`${url}/api/v1/watch?${query}`, {
      dispatcher: this.#agent,
      signal: this.#abort.signal,
      headers: {
        accept: 'text/event-stream',
        authorization: `Bearer ${o.token}`,
        ...(held === undefined ? {} : { 'last-event-id': held }),
      },
    })
    if (res.statusCode !== 200) {
      const text = await res.body.text()
      throw new Error(`watch refused with ${res.statusCode}: ${text}`)
    }
    onOpen()
    o.onConnection?.(true, url)
    const body = res.body
    // Decoded as a stream: a character split between two chunks stays whole.
    body.setEncoding('utf8')
    // Events rather than an async iterator: one call per chunk, and no promise per chunk.
    await new Promise<void>((resolve, reject) => {
      let buffer = ''
      body.on('data', (chunk: string) => {
        buffer += chunk
        try {
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end)
            buffer = buffer.slice(end + 2)
            if (!this.#event(block)) {
              // A delta that does not fit what is held: ask again for the whole config.
              body.destroy()
              resolve()
              return
            }
          }
        } catch (error) {
          body.destroy()
          reject(error)
        }
      })
      body.on('error', (error) => (this.#closed ? resolve() : reject(error)))
      body.once('close', () => resolve())
    })
  }

  /**
   * One server-sent event: `event:` and `data:` lines; comments (keepalives) ignored. False
   * when the stream no longer fits what is held and must be opened again.
   */
  #event(block: string): boolean {
    let type = 'message'
    let data = ''
    const lines = block.split('\n')
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string
      if (line.startsWith('event: ')) type = line.slice(7)
      else if (line.startsWith('data: ')) data += line.slice(6)
    }
    switch (type) {
      case 'current':
        this.#first?.resolve(true)
        // A replica that had not heard from this instance learns what it did with the version.
        if (this.#lastReport) this.#report(this.#lastReport)
        return true
      case 'snapshot': {
        const payload = this.#watched.snapshot(JSON.parse(data) as SnapshotPayload)
        this.#applyAndReport(payload, data)
        return true
      }
      case 'delta': {
        const payload = this.#watched.delta(JSON.parse(data) as DeltaPayload)
        if (!payload) {
          this.#watched.reset()
          return false
        }
        this.#applyAndReport(payload, payload)
        return true
      }
      default:
        return true
    }
  }

  #applyAndReport(payload: SnapshotPayload, cache: SnapshotPayload | string): void {
    const refused = this.#options.apply(payload)
    if (refused === undefined) {
      this.#applied = payload.version
      this.#appliedStore = payload.store
      this.#first?.resolve(true)
      if (this.#options.cacheFile) this.#cache(cache)
    }
    // A NACK says which version stays in force, when that version counts in the same store.
    const inForce = refused !== undefined && this.#appliedStore === payload.store ? this.#applied : undefined
    this.#report({
      version: payload.version,
      ...(refused === undefined ? {} : { error: refused }),
      ...(inForce === undefined ? {} : { applied: inForce }),
    })
  }

  /** Sends the newest report once changes settle (see REPORT_QUIET_MS), one request at a time. */
  #report(report: Report): void {
    this.#lastReport = report
    this.#pendingReport = report
    this.#reports.touch()
  }

  async #sendReport(): Promise<void> {
    const report = this.#pendingReport
    this.#pendingReport = undefined
    if (!report || this.#closed) return
    await this.call('POST', '/api/v1/ack', { instance: this.#options.instance, ...report }).catch(() => {
      // The next version's answer carries the state again; a lost report costs nothing else.
    })
  }

  /** Writes the newest applied config to the disk cache once changes settle (see CACHE_QUIET_MS). */
  #cache(due: SnapshotPayload | string): void {
    if (this.#closed) return
    this.#cacheDue = due
    this.#caching.touch()
  }

  async #writeDueCache(): Promise<void> {
    const due = this.#cacheDue
    const file = this.#options.cacheFile
    if (due === undefined || !file) return
    this.#cacheDue = undefined
    await writeCache(
      file,
      this.#cacheTemp as string,
      typeof due === 'string' ? due : JSON.stringify(due),
    ).catch(() => {
      // A cache that cannot be written costs only a start without the control plane.
    })
  }
}

/** One registered endpoint: its lease, heartbeats at a third of its lifetime, re-registration when it lapsed. */
class Registration {
  readonly #client: ControlPlaneClient
  readonly #endpoint: RegistryEndpoint
  #lease: string | undefined
  #timer: NodeJS.Timeout | undefined

  constructor(client: ControlPlaneClient, endpoint: RegistryEndpoint) {
    this.#client = client
    this.#endpoint = endpoint
  }

  async start(): Promise<void> {
    const { status, json } = await this.#client.call('POST', '/api/v1/endpoints', this.#endpoint)
    if (status !== 201) throw new Error(`registration refused with ${status}: ${JSON.stringify(json)}`)
    const { lease, ttlMs } = json as { lease: string; ttlMs: number }
    this.#lease = lease
    this.#schedule(ttlMs / 3)
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer)
    if (this.#lease) await this.#client.call('DELETE', `/api/v1/endpoints/${this.#lease}`).catch(() => {})
    this.#lease = undefined
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => void this.#beat(ms), ms)
    this.#timer.unref()
  }

  async #beat(ms: number): Promise<void> {
    if (this.#client.closed) return
    try {
      const { status } = await this.#client.call('PUT', `/api/v1/endpoints/${this.#lease}`)
      // A lapsed lease (the control plane restarted, or we were away too long): register anew.
      if (status === 404) return await this.start()
    } catch {
      // Unreachable for now: keep beating; the lease may still be alive when it answers.
    }
    this.#schedule(ms)
  }
}
