import type { ServerResponse } from 'node:http'

/** Which graph a subscriber asked for: its window and, for a workload token, its namespace. */
export interface GraphView {
  readonly windowSeconds: number
  readonly namespace: string | undefined
}

export interface GraphStreamOptions {
  /** Builds the graph JSON for a view, at the time of the call. */
  readonly build: (view: GraphView) => unknown
  /** Between events when no report comes. Default 2000. */
  readonly periodMs?: number
  /** Between events however often reports come. Default 500. */
  readonly minGapMs?: number
  readonly log?: (line: string) => void
}

interface Subscriber {
  readonly res: ServerResponse
  readonly view: GraphView
}

/**
 * `GET /api/v1/graph/stream`: server-sent events, `event: graph` with the graph JSON, at once on
 * connecting, then every `periodMs`, sooner when reports come in but never more often than
 * every `minGapMs`. One graph is built per distinct view per event, whatever the number of
 * subscribers; one whose connection cannot keep up skips events rather than queueing them.
 */
export class GraphStream {
  readonly #subscribers = new Set<Subscriber>()
  readonly #build: (view: GraphView) => unknown
  readonly #periodMs: number
  readonly #minGapMs: number
  readonly #log: (line: string) => void
  #timer: NodeJS.Timeout | undefined
  #dueAtMs = Number.POSITIVE_INFINITY
  #lastAtMs = Number.NEGATIVE_INFINITY

  constructor(options: GraphStreamOptions) {
    this.#build = options.build
    this.#periodMs = options.periodMs ?? 2000
    this.#minGapMs = options.minGapMs ?? 500
    this.#log = options.log ?? (() => {})
  }

  get size(): number {
    return this.#subscribers.size
  }

  add(res: ServerResponse, view: GraphView): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    })
    const subscriber: Subscriber = { res, view }
    this.#subscribers.add(subscriber)
    res.on('close', () => {
      this.#subscribers.delete(subscriber)
      if (this.#subscribers.size === 0) this.#stop()
    })
    res.write(this.#event(this.#build(view)))
    if (!this.#timer) this.#schedule(Date.now() + this.#periodMs)
  }

  /** A report came in: the next event goes out as soon as the minimum gap allows. */
  changed(): void {
    if (this.#subscribers.size === 0) return
    this.#schedule(Math.max(Date.now(), this.#lastAtMs + this.#minGapMs))
  }

  close(): void {
    this.#stop()
    for (const s of this.#subscribers) s.res.end()
    this.#subscribers.clear()
  }

  #schedule(atMs: number): void {
    if (this.#timer && atMs >= this.#dueAtMs) return
    clearTimeout(this.#timer)
    this.#dueAtMs = atMs
    this.#timer = setTimeout(() => this.#broadcast(), Math.max(0, atMs - Date.now()))
    this.#timer.unref()
  }

  #stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#dueAtMs = Number.POSITIVE_INFINITY
  }

  #broadcast(): void {
    this.#timer = undefined
    this.#dueAtMs = Number.POSITIVE_INFINITY
    const now = Date.now()
    this.#lastAtMs = now
    const events = new Map<string, string>()
    for (const s of this.#subscribers) {
      if (s.res.writableNeedDrain) continue
      const key = `${s.view.windowSeconds}/${s.view.namespace ?? ''}`
      let text = events.get(key)
      if (text === undefined) {
        try {
          text = this.#event(this.#build(s.view))
        } catch (error) {
          // A graph that cannot be built now is skipped; the stream and the control plane go on.
          this.#log(`graph stream: ${(error as Error).stack ?? String(error)}`)
          text = ''
        }
        events.set(key, text)
      }
      if (text !== '') s.res.write(text)
    }
    if (this.#subscribers.size > 0) this.#schedule(now + this.#periodMs)
  }

  #event(graph: unknown): string {
    return `event: graph\ndata: ${JSON.stringify(graph)}\n\n`
  }
}
