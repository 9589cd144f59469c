import type { CompiledFault } from '@weft/config'

/** Delay the request by `delayMs`, then, if `abort` is set, answer with it instead of forwarding. */
export interface FaultDecision {
  readonly delayMs: number
  /** `grpcStatus` is the status name, as Istio writes it (`UNAVAILABLE`). */
  readonly abort: { readonly httpStatus?: number; readonly grpcStatus?: string } | null
}

const NO_FAULT: FaultDecision = Object.freeze({ delayMs: 0, abort: null })

/**
 * Istio hands Envoy a percentage as parts per million (truncated), and Envoy fires when
 * `random mod 1e6` is below it; the same granularity here keeps a seeded run comparable.
 */
function fires(percent: number, random: () => number): boolean {
  if (!(percent > 0)) return false
  const perMillion = Math.floor(Math.min(percent, 100) * 10_000)
  if (perMillion >= 1_000_000) return true
  return Math.floor(random() * 1_000_000) < perMillion
}

/**
 * Decides a request's fault. The snapshot compiled an unset percentage to 0: such a fault never
 * fires, as Istio's API says today ("If not specified, no request will be delayed/aborted"). The delay is drawn before the abort, and a draw is taken only for
 * a fault whose percentage is strictly between 0 and 100, so a seeded `random` replays exactly.
 * Envoy applies both when both fire: the delay first, then the abort.
 */
export function decideFault(fault: CompiledFault | undefined, random: () => number): FaultDecision {
  if (fault === undefined) return NO_FAULT
  const delayMs = fault.delay && fires(fault.delay.percent, random) ? fault.delay.fixedDelayMs : 0
  const abort = fault.abort && fires(fault.abort.percent, random) ? fault.abort : undefined
  if (delayMs === 0 && abort === undefined) return NO_FAULT
  return {
    delayMs,
    abort:
      abort === undefined
        ? null
        : {
            ...(abort.httpStatus === undefined ? {} : { httpStatus: abort.httpStatus }),
            ...(abort.grpcStatus === undefined ? {} : { grpcStatus: abort.grpcStatus }),
          },
  }
}
