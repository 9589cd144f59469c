/**
 * Runs an async task once things settle: a quiet while after the last `touch()` (a random wait
 * within `quietMs`, drawn for each batch of touches, so that instances touched by one change do
 * not all run at once), or
 * `maxWaitMs` after the first touch not yet served, whichever comes first. One run at a time: a
 * touch during a run is served by a run after it. Istio debounces its pushes the same way
 * (`PILOT_DEBOUNCE_AFTER`, `PILOT_DEBOUNCE_MAX`); lodash's `debounce` has the cap but neither the
 * jitter nor the one-run-at-a-time an async task needs.
 */
export class Debounced {
  readonly #task: () => Promise<void>
  readonly #quietMs: readonly [min: number, max: number]
  readonly #maxWaitMs: number
  /** When the oldest touch not yet served came (`performance.now()`), if any. */
  #since: number | undefined
  /** When the newest touch came. */
  #last = 0
  /** The quiet wait for the touches now pending, drawn when the first of them came. */
  #quiet = 0
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor(task: () => Promise<void>, quietMs: readonly [min: number, max: number], maxWaitMs: number) {
    this.#task = task
    this.#quietMs = quietMs
    this.#maxWaitMs = maxWaitMs
  }

  // A touch only notes the time: the timer, when it fires before things have settled, is set
  // again for what remains. Clearing and setting a timer on every touch cost each SDK instance
  // more than the report it was putting off.
  touch(): void {
    const now = performance.now()
    this.#last = now
    if (this.#since === undefined) {
      this.#since = now
      const [min, max] = this.#quietMs
      this.#quiet = min + Math.random() * (max - min)
    }
    if (this.#running === undefined && this.#timer === undefined) this.#arm(now)
  }

  /** Runs a pending task now, and waits for it (and for one already running). */
  async flush(): Promise<void> {
    await this.#running
    this.#disarm()
    if (this.#since !== undefined) await this.#run()
  }

  /** Forgets pending touches; a run in progress finishes. */
  cancel(): void {
    this.#disarm()
    this.#since = undefined
  }

  /** When the pending touches are due: a quiet while after the last, or the cap after the first. */
  #due(): number {
    return Math.min(this.#last + this.#quiet, (this.#since as number) + this.#maxWaitMs)
  }

  #arm(now: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(0, this.#due() - now))
    // Bookkeeping never keeps a process alive.
    this.#timer.unref()
  }

  #disarm(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    if (this.#since === undefined) return
    const now = performance.now()
    // Timers count whole milliseconds: one that fires within a millisecond of the due time runs.
    if (this.#due() - now >= 1) this.#arm(now)
    else void this.#run()
  }

  #run(): Promise<void> {
    this.#since = undefined
    this.#running = this.#task()
      .catch(() => {
        // The task handles its own failures; one that escapes must not stop later runs.
      })
      .finally(() => {
        this.#running = undefined
        if (this.#since === undefined) return
        // Touches during the run wait a quiet while after it, so that runs never come back to back.
        this.#last = performance.now()
        if (this.#timer === undefined) this.#arm(this.#last)
      })
    return this.#running
  }
}
