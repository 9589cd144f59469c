import type { ServerResponse } from 'node:http'
import type { RegistryEndpoint, Resource } from '@weft/config'
import type { StoreState } from './store/config-store.js'
import type { WorkloadStatuses } from './workload-status.js'

/** What a watching SDK receives: the whole config and every registered endpoint, at one version. */
export interface SnapshotPayload {
  /**
   * Which store's history `version` counts in: a watcher resuming from a version of another
   * store (a control plane started afresh) must get the whole config, not `current`.
   */
  readonly store: string
  readonly version: number
  readonly resources: readonly Resource[]
  readonly endpoints: readonly RegistryEndpoint[]
  /** The mesh's roots (PEM): what peer certificates must chain to. */
  readonly trustBundle: string
}

interface Watcher {
  readonly instance: string
  readonly res: ServerResponse
  lastSent: number
}

// A comment line now and then keeps idle proxies and the SDK's read timeout from cutting the stream.
const KEEPALIVE_MS = 15_000

/**
 * The watch streams (server-sent events). Each state change is serialised once and written to
 * every watcher; a watcher that reconnects with the version it has (`Last-Event-ID`) gets a
 * short `current` event instead of the whole config when nothing changed meanwhile.
 */
export class WatchHub {
  readonly #watchers = new Set<Watcher>()
  readonly #statuses: WorkloadStatuses
  #state: StoreState
  #event: { revision: number; text: string } | undefined
  readonly #keepalive: NodeJS.Timeout

  readonly #trustBundle: () => string
  readonly #store: string

  constructor(state: StoreState, statuses: WorkloadStatuses, trustBundle: () => string, store: string) {
    this.#store = store
    this.#state = state
    this.#statuses = statuses
    this.#trustBundle = trustBundle
    this.#keepalive = setInterval(() => {
      for (const w of this.#watchers) w.res.write(': keepalive\n\n')
    }, KEEPALIVE_MS)
    this.#keepalive.unref()
  }

  get size(): number {
    return this.#watchers.size
  }

  update(state: StoreState): void {
    if (state.revision <= this.#state.revision) return
    this.#state = state
    for (const w of this.#watchers) this.#send(w)
  }

  /** `have` is the `Last-Event-ID` the watcher sent: `STORE.VERSION` of the snapshot it holds. */
  add(instance: string, res: ServerResponse, have: string | undefined): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    })
    // -1: even an empty store's first state (version 0) is sent.
    const watcher: Watcher = { instance, res, lastSent: -1 }
    this.#watchers.add(watcher)
    res.on('close', () => {
      this.#watchers.delete(watcher)
      this.#statuses.disconnected(instance)
    })
    const revision = this.#state.revision
    if (have === `${this.#store}.${revision}`) {
      watcher.lastSent = revision
      this.#statuses.sent(instance, revision)
      res.write(`id: ${have}\nevent: current\ndata: {"version":${revision}}\n\n`)
      return
    }
    this.#send(watcher)
  }

  close(): void {
    clearInterval(this.#keepalive)
    for (const w of this.#watchers) w.res.end()
    this.#watchers.clear()
  }

  #send(watcher: Watcher): void {
    const state = this.#state
    if (watcher.lastSent >= state.revision) return
    watcher.lastSent = state.revision
    this.#statuses.sent(watcher.instance, state.revision)
    watcher.res.write(this.#text(state))
  }

  #text(state: StoreState): string {
    if (this.#event?.revision !== state.revision) {
      const payload: SnapshotPayload = {
        store: this.#store,
        version: state.revision,
        resources: [...state.resources.values()].map((r) => r.resource),
        endpoints: distinct([...state.endpoints.values()].map((e) => e.endpoint)),
        trustBundle: this.#trustBundle(),
      }
      this.#event = {
        revision: state.revision,
        text: `id: ${this.#store}.${state.revision}\nevent: snapshot\ndata: ${JSON.stringify(payload)}\n\n`,
      }
    }
    return this.#event.text
  }
}

/**
 * One entry per (service, namespace, address, port): a workload that moved to another replica
 * registers again while its old lease runs out, and must not count twice meanwhile.
 */
function distinct(endpoints: readonly RegistryEndpoint[]): RegistryEndpoint[] {
  const seen = new Set<string>()
  return endpoints.filter((e) => {
    const key = `${e.namespace}/${e.service}/${e.address}/${e.port}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
