import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { RegistryEndpoint, Resource } from '@weft/config'
import { Agent, request } from 'undici'

/** What the control plane's watch stream delivers (docs/api.md). */
export interface SnapshotPayload {
  /** The control plane store whose history `version` counts in. */
  readonly store?: string
  readonly version: number
  readonly resources: readonly Resource[]
  readonly endpoints: readonly RegistryEndpoint[]
  /** The mesh's roots (PEM), from the control plane's CA. */
  readonly trustBundle?: string
}

export interface ControlPlaneClientOptions {
  /** One or more replicas: tried in turn, the next after a failure. */
  readonly urls: readonly string[]
  readonly token: string
  /** This process's id in `weft status`. */
  readonly instance: string
  readonly service: string
  readonly namespace: string
  readonly labels: Readonly<Record<string, string>>
  /** Applies a snapshot; returns why it was refused (the NACK's reason), or undefined (ACK). */
  readonly apply: (payload: SnapshotPayload) => string | undefined
  /** Where the last good snapshot is kept, for a start while the control plane is away. */
  readonly cacheFile?: string
  /** Called when the connection state changes; never with a token. */
  readonly onConnection?: (connected: boolean, url: string, error?: Error) => void
}

const BACKOFF_MIN_MS = 100
const BACKOFF_MAX_MS = 5_000
// The control plane writes a keepalive every 15 s; twice that without a byte means the stream is dead.
const READ_TIMEOUT_MS = 35_000

/** Full jitter, as AWS describes it: a random wait up to the capped exponential. */
function backoffMs(failures: number): number {
  return Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** failures)
}

/**
 * Replaces the cache file atomically (a temporary file renamed over it), without fsync: it is a
 * cache — the control plane holds the truth — so a crash may cost the newest version, never a
 * torn file; and an fsync per instance per change would slow every change down.
 */
async function writeCache(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`
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
 * snapshots, each applied and answered with ACK or NACK; reconnection with jittered back-off
 * across the replicas, resuming from the version it has; endpoint registration kept alive by
 * heartbeats. Its calls go through a private undici Agent, so they are never meshed, traced or
 * counted as the application's traffic.
 */
export class ControlPlaneClient {
  readonly #options: ControlPlaneClientOptions
  readonly #agent = new Agent({ bodyTimeout: READ_TIMEOUT_MS, headersTimeout: 10_000 })
  #version: number | undefined
  #store: string | undefined
  #urlIndex = 0
  #closed = false
  #abort: AbortController | undefined
  #first: { resolve: (ok: boolean) => void } | undefined
  readonly #registrations = new Set<Registration>()
  #pendingCache: string | undefined
  #caching = false

  constructor(options: ControlPlaneClientOptions) {
    if (options.urls.length === 0) throw new Error('no control-plane URL')
    this.#options = options
  }

  /** The version in force, if any. */
  get version(): number | undefined {
    return this.#version
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
    this.#version = payload.version
    this.#store = payload.store
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
    await Promise.all([...this.#registrations].map((r) => r.stop()))
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
    const res = await request(`${url}/api/v1/watch?${query}`, {
      dispatcher: this.#agent,
      signal: this.#abort.signal,
      headers: {
        accept: 'text/event-stream',
        authorization: `Bearer ${o.token}`,
        ...(this.#version !== undefined && this.#store !== undefined
          ? { 'last-event-id': `${this.#store}.${this.#version}` }
          : {}),
      },
    })
    if (res.statusCode !== 200) {
      const text = await res.body.text()
      throw new Error(`watch refused with ${res.statusCode}: ${text}`)
    }
    onOpen()
    o.onConnection?.(true, url)
    let buffer = ''
    for await (const chunk of res.body) {
      buffer += (chunk as Buffer).toString('utf8')
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        this.#event(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf('\n\n')
      }
    }
  }

  /** Writes the newest snapshot to the cache, one write at a time; versions that arrive meanwhile coalesce. */
  #cache(data: string): void {
    const file = this.#options.cacheFile as string
    this.#pendingCache = data
    if (this.#caching) return
    this.#caching = true
    void (async () => {
      while (this.#pendingCache !== undefined) {
        const next = this.#pendingCache
        this.#pendingCache = undefined
        await writeCache(file, next).catch(() => {
          // A cache that cannot be written costs only a start without the control plane.
        })
      }
      this.#caching = false
    })()
  }

  /** One server-sent event: `event:` and `data:` lines; comments (keepalives) ignored. */
  #event(block: string): void {
    let type = 'message'
    let data = ''
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) type = line.slice(7)
      else if (line.startsWith('data: ')) data += line.slice(6)
    }
    if (type === 'current') {
      this.#first?.resolve(true)
      return
    }
    if (type !== 'snapshot') return
    const payload = JSON.parse(data) as SnapshotPayload
    const refused = this.#options.apply(payload)
    if (refused === undefined) {
      this.#version = payload.version
      this.#store = payload.store
      this.#first?.resolve(true)
      if (this.#options.cacheFile) this.#cache(data)
    }
    void this.call('POST', '/api/v1/ack', {
      instance: this.#options.instance,
      version: payload.version,
      ...(refused === undefined ? {} : { error: refused }),
    }).catch(() => {
      // The next snapshot's answer carries the state again; a lost report costs nothing else.
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
