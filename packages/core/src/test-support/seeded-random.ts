/**
 * mulberry32: a tiny seeded PRNG with full 2^32 period, good enough for distribution tests and
 * deterministic replays. Not for anything security-related.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A `random()` that replays the given values in order, then repeats the last one. */
export function sequence(...values: number[]): () => number {
  let i = 0
  return () => values[Math.min(i++, values.length - 1)] as number
}

/** Pearson's chi-square statistic of observed counts against expected probabilities. */
export function chiSquare(observed: readonly number[], expected: readonly number[]): number {
  const total = observed.reduce((a, b) => a + b, 0)
  let statistic = 0
  for (let i = 0; i < observed.length; i++) {
    const e = (expected[i] as number) * total
    if (e === 0) continue
    const d = (observed[i] as number) - e
    statistic += (d * d) / e
  }
  return statistic
}

/** Chi-square critical values at p = 0.001, by degrees of freedom. */
export const CHI_SQUARE_CRITICAL_P001: Readonly<Record<number, number>> = Object.freeze({
  1: 10.828,
  2: 13.816,
  3: 16.266,
  4: 18.467,
  5: 20.515,
  9: 27.877,
})

/** How often `pick` returned each index in [0, n) over `times` calls. */
export function countPicks(n: number, times: number, pick: () => number): number[] {
  const counts = new Array<number>(n).fill(0)
  for (let i = 0; i < times; i++) {
    const index = pick()
    counts[index] = (counts[index] ?? 0) + 1
  }
  return counts
}
