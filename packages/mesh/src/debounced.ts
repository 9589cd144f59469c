/**
 * Runs an async task once things settle: a quiet while after the last `touch()`, or, while
 * touches keep coming, at the first touch after a cap has passed since the first touch not yet
 * served. Both waits are random within their ranges, drawn for each batch of touches, so that
 * instances touched by one stream of changes do not all run at once. One run at a time: a touch
 * during a run is served by a run a quiet while after it. Istio debounces its pushes the same way
 * (`PILOT_DEBOUNCE_AFTER`, `PILOT_DEBOUNCE_MAX`); lodash's `debounce` has the cap but neither the
 * jitter nor the one-run-at-a-time an async task needs.
 */
export class Debounced {
  readonly #task: () => Promise<void>
  readonly #quietMs: readonly [min: number, max: number]
  readonly #maxWaitMs: readonly [min: number, max: number]
  /** When the oldest touch not yet served came (`performance.now()`), if any. */
  #since: number | undefined
  /** When the newest touch came. */
  #last = 0
  /** The quiet wait and the cap for the touches now pending, drawn when the first of them came. */
  #quiet = 0
  #cap = 0
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor(
    task: () => Promise<void>,
    quietMs: readonly [min: number, max: number],
    maxWaitMs: readonly [min: number, max: number],
  ) {
    this.#task = task
    this.#quietMs = quietMs
    this.#maxWaitMs = maxWaitMs
  }

  // A touch only notes the time: the timer, when it fires before things have settled, is set
  // again for what remains. Clearing and setting a timer on every touch cost each SDK instance
  // more than the report it was putting off. The cap is served by a touch, not by a timer: a
  // process woken by a change does the task in the same turn instead of waking again for it, and
  // with random caps the instances a stream of changes reaches spread their runs over its turns.
  touch(): void {
    const now = performance.now()
    this.#last = now
    if (this.#since === undefined) {
      this.#since = now
      this.#quiet = between(this.#quietMs)
      this.#cap = between(this.#maxWaitMs)
    } else if (this.#running === undefined && now - this.#since >= this.#cap) {
      this.#disarm()
      void this.#run()
      return
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

  #arm(now: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(0, this.#last + this.#quiet - now))
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
    if (this.#last + this.#quiet - now >= 1) this.#arm(now)
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

function between([min, max]: readonly [min: number, max: number]): number {
  return min + Math.random() * (max - min)
}
