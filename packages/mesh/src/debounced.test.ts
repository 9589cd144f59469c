import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Debounced } from './debounced.js'

/** A task that records when each run started and ended, taking `ms` of (fake) time. */
function recorder(ms = 0) {
  const runs: { start: number; end?: number }[] = []
  const task = async () => {
    const run: { start: number; end?: number } = { start: performance.now() }
    runs.push(run)
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
    run.end = performance.now()
  }
  return { runs, task }
}

describe('Debounced', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('runs once, a quiet while after the last of several touches', async () => {
    const { runs, task } = recorder()
    const debounced = new Debounced(task, [100, 100], [5_000, 5_000])
    for (let i = 0; i < 5; i++) {
      debounced.touch()
      await vi.advanceTimersByTimeAsync(50)
    }
    expect(runs).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(60)
    expect(runs.map((r) => r.start)).toEqual([300])
  })

  it('runs at the first touch past the cap while touches keep coming, then once more after the last', async () => {
    const { runs, task } = recorder()
    const debounced = new Debounced(task, [100, 100], [1_000, 1_000])
    for (let t = 0; t < 2_500; t += 50) {
      debounced.touch()
      await vi.advanceTimersByTimeAsync(50)
    }
    await vi.advanceTimersByTimeAsync(200)
    // The touch at 1,000 is served by the run it starts; the next batch begins at 1,050.
    expect(runs.map((r) => r.start)).toEqual([1_000, 2_050, 2_550])
  })

  it('serves the cap in the touching turn, with no timer of its own', async () => {
    const { runs, task } = recorder()
    const debounced = new Debounced(task, [100, 100], [300, 300])
    for (let t = 0; t < 300; t += 50) {
      debounced.touch()
      await vi.advanceTimersByTimeAsync(50)
    }
    expect(runs).toHaveLength(0)
    debounced.touch()
    // Not a timer's callback: the run starts within touch().
    expect(runs.map((r) => r.start)).toEqual([300])
  })

  it('draws the cap within its range for each batch', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const { runs, task } = recorder()
    const debounced = new Debounced(task, [100, 100], [1_000, 2_000])
    for (let t = 0; t <= 1_500; t += 50) {
      debounced.touch()
      await vi.advanceTimersByTimeAsync(50)
    }
    expect(runs.map((r) => r.start)).toEqual([1_500])
  })

  it('sets no timer per touch: a burst of touches costs a timer or two', async () => {
    const { runs, task } = recorder()
    const debounced = new Debounced(task, [100, 100], [5_000, 5_000])
    const timers = vi.spyOn(globalThis, 'setTimeout')
    for (let i = 0; i < 100; i++) {
      debounced.touch()
      await vi.advanceTimersByTimeAsync(1)
    }
    await vi.advanceTimersByTimeAsync(200)
    expect(runs.map((r) => r.start)).toEqual([199])
    expect(timers.mock.calls.length).toBeLessThanOrEqual(2)
  })

  it('waits a random quiet within its range', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const { runs, task } = recorder()
    new Debounced(task, [100, 200], [5_000, 5_000]).touch()
    await vi.advanceTimersByTimeAsync(149)
    expect(runs).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(runs).toHaveLength(1)
  })

  it('never runs twice at once: a touch during a run is served by a run after it', async () => {
    const { runs, task } = recorder(300)
    const debounced = new Debounced(task, [100, 100], [5_000, 5_000])
    debounced.touch()
    await vi.advanceTimersByTimeAsync(150)
    debounced.touch()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(runs).toEqual([
      { start: 100, end: 400 },
      { start: 500, end: 800 },
    ])
  })

  it('flush runs what is pending now and waits for it; cancel forgets it', async () => {
    const { runs, task } = recorder(10)
    const debounced = new Debounced(task, [100, 100], [5_000, 5_000])
    debounced.touch()
    const flushed = debounced.flush()
    await vi.advanceTimersByTimeAsync(10)
    await flushed
    expect(runs).toEqual([{ start: 0, end: 10 }])
    debounced.touch()
    debounced.cancel()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(runs).toHaveLength(1)
  })

  it('keeps running after a task that fails', async () => {
    let calls = 0
    const debounced = new Debounced(
      async () => {
        calls++
        throw new Error('disk full')
      },
      [10, 10],
      [1_000, 1_000],
    )
    debounced.touch()
    await vi.advanceTimersByTimeAsync(20)
    debounced.touch()
    await vi.advanceTimersByTimeAsync(20)
    expect(calls).toBe(2)
  })
})
