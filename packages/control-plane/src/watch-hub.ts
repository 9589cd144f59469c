import type { ServerResponse } from 'node:http'
import type { RegistryEndpoint, Resource } from '@weft/config'
import type { StoreState } from './store/config-store.js'
import { diffViews, type ViewChanges, WatchView } from './watch-view.js'
import type { WorkloadStatuses } from './workload-status.js'

/** `event: snapshot`: the whole config and every registered endpoint, at one version. */
export interface SnapshotPayload {
  /**
   * Which store's history `version` counts in: a watcher resuming from a version of another
   * store (a control plane started afresh) must get the whole config, not a delta.
   */
  readonly store: string
  readonly version: number
  readonly resources: readonly Resource[]
  readonly endpoints: readonly RegistryEndpoint[]
  /** The mesh's roots (PEM): what peer certificates must chain to. */
  readonly trustBundle: string
}

/** `event: delta`: what changed since version `from`, which the watcher holds. */
export interface DeltaPayload extends ViewChanges {
  readonly store: string
  readonly version: number
  readonly from: number
}

interface Watcher {
  readonly instance: string
  readonly res: ServerResponse
  /** The version the watcher holds as far as this stream knows; -1 for none. */
  lastSent: number
}

// A comment line now and then keeps idle proxies and the SDK's read timeout from cutting the stream.
const KEEPALIVE_MS = 15_000
// Versions a reconnecting watcher can resume from with a delta; older ones get the whole config.
const HISTORY = 16
// How long a watcher that holds a newer version than this replica (one that lags behind another
// over etcd) waits for it to catch up before it is sent the whole config as this replica has it.
const AHEAD_WAIT_MS = 1_000

/**
 * The watch streams (server-sent events). A watcher gets the whole config first, then only
 * what changed (deltas). Each event is serialised once per version it starts from — in the
 * steady state once per change for all watchers — and written to each as the same bytes. A
 * watcher that reconnects with the version it has (`Last-Event-ID`) gets `current` when nothing
 * changed meanwhile, a delta when that version is among the recent ones, else the whole config.
 */
export class WatchHub {
  readonly #watchers = new Set<Watcher>()
  readonly #statuses: WorkloadStatuses
  /** The recent views by revision, oldest first; the last is the current one. */
  readonly #views = new Map<number, WatchView>()
  #current: WatchView
  /** The current version's events, by the version they start from (-1: the whole config). */
  #events = new Map<number, Buffer>()
  readonly #keepalive: NodeJS.Timeout
  readonly #trustBundle: () => string
  readonly #store: string

  constructor(state: StoreState, statuses: WorkloadStatuses, trustBundle: () => string, store: string) {
    this.#store = store
    this.#statuses = statuses
    this.#trustBundle = trustBundle
    this.#current = new WatchView(state, trustBundle())
    this.#views.set(state.revision, this.#current)
    this.#keepalive = setInterval(() => {
      for (const w of this.#watchers) w.res.write(': keepalive\n\n')
    }, KEEPALIVE_MS)
    this.#keepalive.unref()
  }

  get size(): number {
    return this.#watchers.size
  }

  update(state: StoreState): void {
    if (state.revision <= this.#current.revision) return
    this.#current = new WatchView(state, this.#trustBundle(), this.#current)
    this.#views.set(state.revision, this.#current)
    for (const revision of this.#views.keys()) {
      if (this.#views.size <= HISTORY) break
      this.#views.delete(revision)
    }
    this.#events = new Map()
    for (const w of this.#watchers) this.#send(w)
  }

  /** `have` is the `Last-Event-ID` the watcher sent: `STORE.VERSION` of the config it holds. */
  add(instance: string, res: ServerResponse, have: string | undefined): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    })
    // The watcher learns it is connected even when it is sent nothing yet (see AHEAD_WAIT_MS).
    res.flushHeaders()
    // -1: even an empty store's first state (version 0) is sent.
    const watcher: Watcher = { instance, res, lastSent: -1 }
    this.#watchers.add(watcher)
    res.on('close', () => {
      this.#watchers.delete(watcher)
      this.#statuses.disconnected(instance)
    })
    const held = this.#held(have)
    const revision = this.#current.revision
    if (held === revision) {
      watcher.lastSent = revision
      this.#statuses.sent(instance, revision)
      res.write(`id: ${this.#store}.${revision}\nevent: current\ndata: {"version":${revision}}\n\n`)
      return
    }
    if (held !== undefined && held > revision) {
      watcher.lastSent = held
      setTimeout(() => {
        if (watcher.lastSent <= this.#current.revision || !this.#watchers.has(watcher)) return
        watcher.lastSent = -1
        this.#send(watcher)
      }, AHEAD_WAIT_MS).unref()
      return
    }
    if (held !== undefined && this.#views.has(held)) watcher.lastSent = held
    this.#send(watcher)
  }

  close(): void {
    clearInterval(this.#keepalive)
    for (const w of this.#watchers) w.res.end()
    this.#watchers.clear()
  }

  /** The version a `Last-Event-ID` names, if it counts in this store's history. */
  #held(have: string | undefined): number | undefined {
    if (have === undefined) return undefined
    const dot = have.lastIndexOf('.')
    if (dot < 0 || have.slice(0, dot) !== this.#store) return undefined
    const version = Number(have.slice(dot + 1))
    return Number.isSafeInteger(version) && version >= 0 ? version : undefined
  }

  #send(watcher: Watcher): void {
    const current = this.#current
    // Equal: it has this version. Greater: it is ahead of this replica, which must catch up first.
    if (watcher.lastSent >= current.revision) return
    const event = this.#event(this.#views.has(watcher.lastSent) ? watcher.lastSent : -1)
    watcher.lastSent = current.revision
    this.#statuses.sent(watcher.instance, current.revision)
    watcher.res.write(event)
  }

  /** The current version's event for a watcher holding `from` (-1: none), serialised once. */
  #event(from: number): Buffer {
    let event = this.#events.get(from)
    if (event) return event
    const current = this.#current
    const id = `id: ${this.#store}.${current.revision}\n`
    const base = this.#views.get(from)
    if (base) {
      const delta: DeltaPayload = {
        store: this.#store,
        version: current.revision,
        from,
        ...diffViews(base, current),
      }
      event = Buffer.from(`${id}event: delta\ndata: ${JSON.stringify(delta)}\n\n`)
    } else {
      const snapshot: SnapshotPayload = {
        store: this.#store,
        version: current.revision,
        resources: current.resources(),
        endpoints: [...current.endpoints.values()],
        trustBundle: current.trustBundle,
      }
      event = Buffer.from(`${id}event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`)
    }
    this.#events.set(from, event)
    return event
  }
}
