import { durationMs } from '../duration.js'
import type { LoadBalancerSettings } from './load-balancer.js'

/** A DestinationRule's warm-up: `warmup` (duration, minimumPercent, aggression) or the older `warmupDurationSecs`. */
export interface SlowStart {
  readonly windowMs: number
  /** The least share of its weight a new endpoint gets, 0–1. Envoy's default: 0.1. */
  readonly minWeightFactor: number
  readonly aggression: number
}

/** The slow-start window a load balancer setting asks for; undefined when none. */
export function slowStartOf(settings: LoadBalancerSettings | undefined): SlowStart | undefined {
  const warmup = settings?.warmup
  const windowMs = warmup ? durationMs(warmup.duration) : durationMs(settings?.warmupDurationSecs)
  if (!windowMs) return undefined
  return Object.freeze({
    windowMs,
    minWeightFactor: (warmup?.minimumPercent ?? 10) / 100,
    aggression: warmup?.aggression ?? 1,
  })
}

/**
 * Envoy's slow start: an endpoint that joined `ageMs` ago gets its weight scaled by
 * `max(minWeightFactor, (ageMs / window) ^ (1 / aggression))` until the window has passed, so
 * that a new instance warms its caches and JIT before it takes a full share.
 */
export function slowStartFactor(slowStart: SlowStart, ageMs: number): number {
  if (ageMs >= slowStart.windowMs) return 1
  const time = Math.max(0, ageMs) / slowStart.windowMs
  return Math.max(slowStart.minWeightFactor, time ** (1 / slowStart.aggression))
}
