/**
 * The bounds SDKs count request durations under: `@weft/telemetry`'s `DURATION_BUCKETS_MS`
 * (Envoy's defaults, which Istio keeps). The control plane may not import the SDK's packages,
 * so it holds the same list; a report with another number of buckets is refused.
 */
export const DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
]

/**
 * The `q`-quantile (0–1) of durations counted per bucket (not cumulative, the last one above
 * every bound), as Prometheus' `histogram_quantile` estimates it: the bucket holding the rank,
 * then linear interpolation inside it, assuming observations spread evenly from its lower bound
 * (0 for the first) to its upper bound. A rank in the overflow bucket gives the highest bound.
 * Null when nothing was counted.
 */
export function durationQuantileMs(
  q: number,
  counts: ArrayLike<number>,
  bounds: readonly number[] = DURATION_BUCKETS_MS,
): number | null {
  let total = 0
  for (let i = 0; i < counts.length; i++) total += counts[i] as number
  if (total === 0 || !(q >= 0 && q <= 1)) return null
  const rank = q * total
  let below = 0
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i] as number
    if (below + inBucket >= rank && inBucket > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] as number
      const lower = i === 0 ? 0 : (bounds[i - 1] as number)
      const upper = bounds[i] as number
      return lower + (upper - lower) * ((rank - below) / inBucket)
    }
    below += inBucket
  }
  return bounds[bounds.length - 1] as number
}
