import type { DestinationRuleSpec } from '../../generated/istio-types.js'
import {
  CIRCUIT_BREAKER_ANNOTATION,
  parseCircuitBreakerAnnotation,
} from '../../model/circuit-breaker-annotation.js'
import type { PathSegment } from '../../model/diagnostic.js'
import type { Resource } from '../../model/resource.js'
import { checkHost, checkLabels, type RuleContext } from './rule-context.js'
import { checkExportTo, checkSelector } from './workload-selector.js'

type TrafficPolicy = NonNullable<DestinationRuleSpec['trafficPolicy']>
type PortTrafficPolicy = NonNullable<TrafficPolicy['portLevelSettings']>[number]
type LoadBalancer = NonNullable<TrafficPolicy['loadBalancer']>

const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/

function isPrime(n: number): boolean {
  if (n < 2) return false
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false
  return true
}

function percentInRange(ctx: RuleContext, path: PathSegment[], value: number | undefined) {
  if (value !== undefined && !(value >= 0 && value <= 100))
    ctx.error(path, `percentage ${value} is not in range 0..100`)
}

function checkLocality(ctx: RuleContext, path: PathSegment[], locality: LoadBalancer['localityLbSetting']) {
  if (!locality) return
  const { distribute, failover, failoverPriority } = locality
  if (distribute?.length && failover?.length)
    ctx.error(path, "can not simultaneously specify 'distribute' and 'failover'")
  const froms: string[] = []
  distribute?.forEach((entry, i) => {
    const at = [...path, 'distribute', i]
    const from = entry.from ?? ''
    checkLocalityName(ctx, [...at, 'from'], from)
    if (froms.includes(from))
      ctx.error([...at, 'from'], `locality ${from} overlap with previous specified ones`)
    froms.push(from)
    let total = 0
    for (const [to, weight] of Object.entries(entry.to ?? {})) {
      checkLocalityName(ctx, [...at, 'to', to], to)
      if (!(weight >= 1 && weight <= 100))
        ctx.error([...at, 'to', to], 'locality weight must be in range [1, 100]')
      total += weight
    }
    if (total !== 100) ctx.error([...at, 'to'], `total locality weight ${total} != 100`)
  })
  failover?.forEach((entry, i) => {
    const at = [...path, 'failover', i]
    if (entry.from === entry.to) ctx.error(at, 'locality lb failover settings must specify different regions')
    for (const field of ['from', 'to'] as const) {
      const value = entry[field] ?? ''
      if (value.includes('/')) ctx.error([...at, field], 'locality lb failover only specify region')
      if (value.includes('*'))
        ctx.error([...at, field], "locality lb failover region should not contain '*' wildcard")
    }
  })
  if (
    failover?.length &&
    failoverPriority?.some((p) => p.split('=')[0] === 'topology.kubernetes.io/region')
  ) {
    ctx.error(
      [...path, 'failoverPriority'],
      "can not simultaneously set 'failover' and topology label 'topology.kubernetes.io/region' in 'failover_priority'",
    )
  }
}

function checkLocalityName(ctx: RuleContext, path: PathSegment[], locality: string) {
  const parts = locality.split('/')
  const star = parts.indexOf('*')
  if (locality.split('*').length > 2 || (star >= 0 && star !== parts.length - 1)) {
    ctx.error(path, `locality ${locality} wildcard '*' number can not exceed 1 and must be in the end`)
  }
  if (parts.some((p) => p === ''))
    ctx.error(path, `locality ${locality} must not contain empty region/zone/subzone info`)
}

function checkLoadBalancer(
  ctx: RuleContext,
  path: PathSegment[],
  lb: LoadBalancer | undefined,
  outlier: boolean,
) {
  if (!lb) return
  const hash = lb.consistentHash
  if (hash) {
    if (hash.httpCookie && !hash.httpCookie.name)
      ctx.error([...path, 'consistentHash', 'httpCookie', 'name'], 'name required for HttpCookie')
    const names = new Set<string>()
    hash.httpCookie?.attributes?.forEach((attr, i) => {
      const at = [...path, 'consistentHash', 'httpCookie', 'attributes', i]
      if (!attr.name) ctx.error(at, 'cookie attribute name cannot be empty')
      else if (names.has(attr.name)) ctx.error(at, `duplicate cookie attribute name: ${attr.name}`)
      names.add(attr.name)
    })
    if (hash.minimumRingSize !== undefined) {
      ctx.warn(
        [...path, 'consistentHash', 'minimumRingSize'],
        "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead",
      )
      if (hash.maglev || hash.ringHash)
        ctx.error(
          [...path, 'consistentHash'],
          'only one of MinimumRingSize or Maglev/Ringhash can be specified',
        )
    }
    if (hash.maglev) {
      const size = hash.maglev.tableSize
      const at = [...path, 'consistentHash', 'maglev', 'tableSize']
      if (size === undefined || size === 0) ctx.error(at, 'tableSize must be set for maglev')
      else if (size >= 5_000_011) ctx.error(at, 'tableSize must be less than 5000011 for maglev')
      else if (!isPrime(size)) ctx.error(at, 'tableSize must be a prime number for maglev')
    }
  }
  if (lb.localityLbSetting && lb.zoneAwareLbSetting)
    ctx.error(path, 'only one of localityLbSetting and zoneAwareLbSetting can be set')
  checkLocality(ctx, [...path, 'localityLbSetting'], lb.localityLbSetting)
  if (lb.localityLbSetting?.failover?.length && !outlier) {
    ctx.warn(
      [...path, 'localityLbSetting', 'failover'],
      'outlier detection policy must be provided for failover',
    )
  }
  if (lb.warmup) {
    if (!lb.warmup.duration) ctx.error([...path, 'warmup', 'duration'], 'duration is required')
    const min = lb.warmup.minimumPercent
    if (min !== undefined && min !== null && min > 100)
      ctx.error(
        [...path, 'warmup', 'minimumPercent'],
        'minimumPercent value should be less than or equal to 100',
      )
    const aggression = lb.warmup.aggression
    if (aggression !== undefined && aggression !== null && aggression <= 0)
      ctx.error([...path, 'warmup', 'aggression'], 'aggression should be greater than 0')
  }
}

function checkTrafficPolicy(
  ctx: RuleContext,
  path: PathSegment[],
  policy: TrafficPolicy | PortTrafficPolicy | undefined,
  portLevel: boolean,
) {
  if (policy === undefined) return
  if (policy === null) {
    ctx.error(path, 'traffic policy may not be null')
    return
  }
  const fields = Object.keys(policy).filter((k) => k !== 'port')
  if (fields.length === 0) {
    ctx.error(
      path,
      portLevel
        ? 'port traffic policy must have at least one field'
        : 'traffic policy must have at least one field',
    )
    return
  }
  if ('tunnel' in policy && policy.tunnel && 'proxyProtocol' in policy && policy.proxyProtocol) {
    ctx.error(path, 'tunnel and proxyProtocol must not be set together')
  }
  if (
    'tunnel' in policy &&
    policy.tunnel?.protocol !== undefined &&
    !['CONNECT', 'POST'].includes(policy.tunnel.protocol)
  ) {
    ctx.error([...path, 'tunnel', 'protocol'], 'tunnel protocol must be "CONNECT" or "POST"')
  }
  const od = policy.outlierDetection
  if (od) {
    const at = [...path, 'outlierDetection']
    if (od.consecutiveErrors !== undefined) {
      ctx.warn(
        [...at, 'consecutiveErrors'],
        'outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead',
      )
    }
    if (od.consecutiveLocalOriginFailures != null && !od.splitExternalLocalOriginErrors) {
      ctx.error(
        at,
        'outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false',
      )
    }
    percentInRange(ctx, [...at, 'maxEjectionPercent'], od.maxEjectionPercent)
    percentInRange(ctx, [...at, 'minHealthPercent'], od.minHealthPercent)
  }
  const pool = policy.connectionPool
  if (pool) {
    const at = [...path, 'connectionPool']
    if (!pool.http && !pool.tcp) ctx.error(at, 'connection pool must have at least one field')
    const nonNegative: [PathSegment[], number | undefined, string][] = [
      [
        ['http', 'http1MaxPendingRequests'],
        pool.http?.http1MaxPendingRequests,
        'http1 max pending requests must be non-negative',
      ],
      [['http', 'http2MaxRequests'], pool.http?.http2MaxRequests, 'http2 max requests must be non-negative'],
      [
        ['http', 'maxRequestsPerConnection'],
        pool.http?.maxRequestsPerConnection,
        'max requests per connection must be non-negative',
      ],
      [['http', 'maxRetries'], pool.http?.maxRetries, 'max retries must be non-negative'],
      [
        ['http', 'maxConcurrentStreams'],
        pool.http?.maxConcurrentStreams,
        'max concurrent streams must be non-negative',
      ],
      [['tcp', 'maxConnections'], pool.tcp?.maxConnections, 'max connections must be non-negative'],
    ]
    for (const [field, value, message] of nonNegative)
      if (value !== undefined && value < 0) ctx.error([...at, ...field], message)
    if (pool.http?.useClientProtocol && pool.http.h2UpgradePolicy === 'UPGRADE') {
      ctx.error([...at, 'http'], 'use client protocol must not be true when H2UpgradePolicy is UPGRADE')
    }
    const keepAlive = pool.http?.http2KeepAlive
    if (keepAlive && !keepAlive.interval)
      ctx.error([...at, 'http', 'http2KeepAlive'], 'http2 keepalive interval is required')
    if (keepAlive && !keepAlive.timeout)
      ctx.error([...at, 'http', 'http2KeepAlive'], 'http2 keepalive timeout is required')
  }
  checkLoadBalancer(ctx, [...path, 'loadBalancer'], policy.loadBalancer, od !== undefined)
  const tls = policy.tls
  if (tls) {
    const at = [...path, 'tls']
    const files = tls.clientCertificate || tls.privateKey || tls.caCertificates || tls.caCrl
    if (
      tls.insecureSkipVerify &&
      tls.mode === 'SIMPLE' &&
      (tls.caCertificates || tls.credentialName || tls.subjectAltNames?.length)
    ) {
      ctx.error(
        at,
        'cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true',
      )
    }
    if (
      tls.insecureSkipVerify &&
      tls.mode === 'MUTUAL' &&
      (tls.caCertificates || tls.subjectAltNames?.length)
    ) {
      ctx.error(at, 'cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true')
    }
    if ((tls.mode === 'SIMPLE' || tls.mode === 'MUTUAL') && tls.credentialName && files) {
      ctx.error(at, 'cannot specify client certificates or CA certificate or CA CRL If credentialName is set')
    }
    if (tls.mode === 'MUTUAL' && !tls.credentialName) {
      if (!tls.clientCertificate) ctx.error(at, 'client certificate required for mutual tls')
      if (!tls.privateKey) ctx.error(at, 'private key required for mutual tls')
    }
  }
  if (!portLevel && 'portLevelSettings' in policy) {
    policy.portLevelSettings?.forEach((setting, i) => {
      const at = [...path, 'portLevelSettings', i]
      if (setting?.port?.number === undefined) ctx.error(at, 'portTrafficPolicy must have valid port')
      checkTrafficPolicy(ctx, at, setting, true)
    })
  }
}

export function destinationRuleRules(spec: DestinationRuleSpec, ctx: RuleContext, resource: Resource): void {
  const breaker = resource.metadata.annotations?.[CIRCUIT_BREAKER_ANNOTATION]
  if (breaker !== undefined) {
    const parsed = parseCircuitBreakerAnnotation(breaker)
    if ('error' in parsed) ctx.errorAt(['metadata', 'annotations', CIRCUIT_BREAKER_ANNOTATION], parsed.error)
  }
  if (!spec.host) ctx.error(['host'], 'empty domain name not allowed')
  else checkHost(ctx, ['host'], spec.host)
  checkSelector(
    ctx,
    ['workloadSelector', 'matchLabels'],
    spec.workloadSelector?.matchLabels,
    spec.workloadSelector !== undefined,
  )
  checkExportTo(ctx, spec.exportTo, resource.metadata.namespace)
  if (spec.workloadSelector && spec.exportTo) {
    if (spec.exportTo.length > 1)
      ctx.error(
        ['exportTo'],
        'destination rule with workload selector cannot have multiple entries in exportTo',
      )
    else if (spec.exportTo[0] !== '.' && spec.exportTo[0] !== resource.metadata.namespace) {
      ctx.error(
        ['exportTo'],
        'destination rule with workload selector cannot have exportTo beyond current namespace',
      )
    }
  }
  checkTrafficPolicy(ctx, ['trafficPolicy'], spec.trafficPolicy, false)
  const names = new Set<string>()
  spec.subsets?.forEach((subset, i) => {
    const at = ['subsets', i]
    if (subset === null) {
      ctx.error(at, 'subset may not be null')
      return
    }
    if (!subset.name) ctx.error([...at, 'name'], 'subset name cannot be empty')
    else if (!DNS1123_LABEL.test(subset.name) || subset.name.length > 63)
      ctx.error([...at, 'name'], `subset name is invalid: ${subset.name}`)
    else if (names.has(subset.name)) ctx.error([...at, 'name'], `duplicate subset names: ${subset.name}`)
    names.add(subset.name)
    checkLabels(ctx, [...at, 'labels'], subset.labels)
    checkTrafficPolicy(ctx, [...at, 'trafficPolicy'], subset.trafficPolicy, false)
  })
}
