/**
 * Runs an async task once things settle: a quiet while after the last `touch()` (a random wait
 * within `quietMs`, so that instances touched by one change do not all run at once), or
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
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor(task: () => Promise<void>, quietMs: readonly [min: number, max: number], maxWaitMs: number) {
    this.#task = task
    this.#quietMs = quietMs
    this.#maxWaitMs = maxWaitMs
  }

  touch(): void {
    const now = performance.now()
    this.#since ??= now
    if (this.#running) return
    this.#schedule(now)
  }

  /** Runs a pending task now, and waits for it (and for one already running). */
  async flush(): Promise<void> {
    await this.#running
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#since !== undefined) await this.#run()
  }

  /** Forgets pending touches; a run in progress finishes. */
  cancel(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#since = undefined
  }

  #schedule(now: number): void {
    const [min, max] = this.#quietMs
    const quiet = min + Math.random() * (max - min)
    const capped = (this.#since as number) + this.#maxWaitMs - now
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#run(), Math.max(0, Math.min(quiet, capped)))
    // Bookkeeping never keeps a process alive.
    this.#timer.unref()
  }

  #run(): Promise<void> {
    this.#timer = undefined
    this.#since = undefined
    this.#running = this.#task()
      .catch(() => {
        // The task handles its own failures; one that escapes must not stop later runs.
      })
      .finally(() => {
        this.#running = undefined
        if (this.#since !== undefined) this.#schedule(performance.now())
      })
    return this.#running
  }
}
