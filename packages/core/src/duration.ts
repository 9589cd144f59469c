const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * A DestinationRule duration (`10s`, `500ms`, `1h`) in milliseconds. The snapshot keeps traffic
 * policies as written and `@weft/config` validated them already, so only the forms Istio's
 * users write are read here; anything else is undefined and the caller's default applies.
 */
export function durationMs(duration: string | undefined): number | undefined {
  if (duration === undefined) return undefined
  let total = 0
  let rest = duration
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest)
    if (!m) return undefined
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number)
    rest = rest.slice(m[0].length)
  }
  return duration.length > 0 ? total : undefined
}
