import type { TrafficPolicy } from '@weft/config'

type LocalityLbSetting = NonNullable<NonNullable<TrafficPolicy['loadBalancer']>['localityLbSetting']>

/** What locality load balancing knows of the caller and of each endpoint. */
export interface LocalityOf {
  /** `region/zone/subzone`; missing parts are empty. */
  readonly locality?: string | undefined
  readonly labels?: Readonly<Record<string, string>> | undefined
}

function parts(locality: string | undefined): [string, string, string] {
  const [region = '', zone = '', subzone = ''] = (locality ?? '').split('/')
  return [region, zone, subzone]
}

/**
 * The priority Istio gives an endpoint for a caller (0 is tried first), as it writes Envoy's
 * priorities when outlier detection is on:
 * - with `failoverPriority` (label keys, most important first): the number of keys, counted from
 *   the end of the list, on which the endpoint's label differs from the caller's (all match = 0);
 * - otherwise by locality: same region, zone and subzone 0; same zone 1; same region 2; the
 *   region a `failover` entry names for the caller's region 3; anywhere else 4 (3 without one).
 */
export function localityPriority(
  endpoint: LocalityOf,
  caller: LocalityOf,
  setting: LocalityLbSetting | undefined,
): number {
  const keys = setting?.failoverPriority
  if (keys?.length) {
    let matched = 0
    for (const key of keys) {
      const [name, value] = key.split('=') as [string, string | undefined]
      const want = value ?? caller.labels?.[name]
      if (want === undefined || endpoint.labels?.[name] !== want) break
      matched++
    }
    return keys.length - matched
  }
  const [cr, cz, cs] = parts(caller.locality)
  const [er, ez, es] = parts(endpoint.locality)
  if (er === cr && ez === cz && es === cs) return 0
  if (er === cr && ez === cz) return 1
  if (er === cr) return 2
  const failover = setting?.failover
  if (!failover?.length) return 3
  return failover.some((f) => f.from === cr && f.to === er) ? 3 : 4
}

/**
 * Envoy's priority load with its overprovisioning factor of 1.4: each priority takes as much
 * traffic as its healthy share × 1.4 allows (100 % once 72 % of it is healthy), the rest spills
 * to the next; when the priorities together cannot take everything, the loads are scaled up
 * to 100 %. Returns percentages, one per priority.
 */
export function priorityLoads(healthy: readonly number[], total: readonly number[]): number[] {
  const health = healthy.map((h, i) => {
    const t = total[i] ?? 0
    return t === 0 ? 0 : Math.min(100, (140 * h) / t)
  })
  const sum = health.reduce((a, b) => a + b, 0)
  if (sum === 0) return health.map(() => 0)
  const scale = sum < 100 ? 100 / sum : 1
  const loads: number[] = []
  let left = 100
  for (const h of health) {
    const load = Math.min(left, h * scale)
    loads.push(load)
    left -= load
  }
  return loads
}

/** The priority a request goes to, drawn by the loads. -1 when no priority has capacity. */
export function pickPriority(loads: readonly number[], random: () => number): number {
  let target = random() * 100
  for (let i = 0; i < loads.length; i++) {
    const load = loads[i] as number
    if (load <= 0) continue
    if (target < load) return i
    target -= load
  }
  for (let i = loads.length - 1; i >= 0; i--) if ((loads[i] as number) > 0) return i
  return -1
}

function localityMatches(pattern: string, locality: string | undefined): boolean {
  if (pattern === '*') return true
  const want = pattern.split('/')
  const have = parts(locality)
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '*') return true
    if (want[i] !== have[i]) return false
  }
  return true
}

/**
 * `localityLbSetting.distribute`: the first entry whose `from` matches the caller's locality
 * sets each destination locality's share of traffic, shared evenly by its endpoints. Returns a
 * weight per endpoint (0 for endpoints no `to` names), or undefined when no entry applies and
 * the balancer's own weights stand.
 */
export function distributeWeights(
  endpoints: readonly LocalityOf[],
  caller: LocalityOf,
  setting: LocalityLbSetting | undefined,
): number[] | undefined {
  const rule = setting?.distribute?.find((d) => localityMatches(d.from ?? '', caller.locality))
  if (!rule?.to) return undefined
  const targets = Object.entries(rule.to)
  const owner = endpoints.map((e) => targets.findIndex(([pattern]) => localityMatches(pattern, e.locality)))
  const counts = targets.map((_, t) => owner.filter((o) => o === t).length)
  return owner.map((t) => (t < 0 ? 0 : (targets[t] as [string, number])[1] / (counts[t] as number)))
}
