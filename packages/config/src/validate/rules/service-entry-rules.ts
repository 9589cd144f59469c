import type { ServiceEntrySpec, WorkloadEntrySpec } from '../../generated/istio-types.js'
import type { PathSegment } from '../../model/diagnostic.js'
import type { Resource } from '../../model/resource.js'
import {
  checkHost,
  checkLabels,
  checkPort,
  checkPortName,
  hostProblem,
  isIP,
  isIPOrCIDR,
  type RuleContext,
} from './rule-context.js'
import { checkExportTo } from './workload-selector.js'

const PROTOCOLS = new Set([
  'HTTP',
  'HTTPS',
  'GRPC',
  'GRPC-WEB',
  'HTTP2',
  'MONGO',
  'REDIS',
  'MYSQL',
  'TCP',
  'TLS',
  'UDP',
])

function checkEndpointAddress(
  ctx: RuleContext,
  path: PathSegment[],
  address: string | undefined,
  dns: boolean,
) {
  if (address === undefined || address.startsWith('unix://')) return
  if (dns ? isIP(address) || !hostProblem(address, false) : isIP(address)) return
  ctx.error(
    path,
    dns
      ? `endpoint address "${address}" is not a valid FQDN or an IP address`
      : `endpoint address "${address}" is not a valid IP address`,
  )
}

export function serviceEntryRules(spec: ServiceEntrySpec, ctx: RuleContext, resource: Resource): void {
  const resolution = spec.resolution ?? 'NONE'
  if (!spec.hosts.length) ctx.error(['hosts'], 'service entry must have at least one host')
  spec.hosts.forEach((host, i) => {
    if (host === '*') ctx.error(['hosts', i], 'invalid host *')
    else checkHost(ctx, ['hosts', i], host)
  })
  spec.addresses?.forEach((address, i) => {
    if (!isIPOrCIDR(address)) {
      ctx.error(
        ['addresses', i],
        address.includes('/') ? `${address} is not a valid CIDR block` : `${address} is not a valid IP`,
      )
    }
  })
  checkExportTo(ctx, spec.exportTo, resource.metadata.namespace)
  if (spec.exportTo?.includes('~') && spec.exportTo.length > 1)
    ctx.error(['exportTo'], 'cannot export service entry to no one (~) and someone')
  if (spec.workloadSelector && !Object.keys(spec.workloadSelector.labels ?? {}).length) {
    ctx.warn(
      ['workloadSelector'],
      'service entry: workload selector specified without labels, will be applied to all services in namespace',
    )
  }
  checkLabels(ctx, ['workloadSelector', 'labels'], spec.workloadSelector?.labels)

  const names = new Set<string>()
  const numbers = new Set<number>()
  spec.ports?.forEach((port, i) => {
    const at = ['ports', i]
    if (names.has(port.name))
      ctx.error([...at, 'name'], `service entry port name "${port.name}" already defined`)
    if (numbers.has(port.number))
      ctx.error([...at, 'number'], `service entry port ${port.number} already defined`)
    names.add(port.name)
    numbers.add(port.number)
    if (!port.name) ctx.error([...at, 'name'], `invalid port name: ${port.name}`)
    else checkPortName(ctx, [...at, 'name'], port.name)
    if (port.protocol !== undefined && !PROTOCOLS.has(port.protocol.toUpperCase()))
      ctx.error([...at, 'protocol'], `unsupported protocol: ${port.protocol}`)
    checkPort(ctx, [...at, 'targetPort'], port.targetPort)
  })

  const dns = resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN'
  spec.endpoints?.forEach((endpoint, i) => {
    const at = ['endpoints', i]
    checkEndpointAddress(ctx, [...at, 'address'], endpoint.address, dns)
    checkLabels(ctx, [...at, 'labels'], endpoint.labels)
    for (const name of Object.keys(endpoint.ports ?? {})) {
      if (!names.has(name))
        ctx.error([...at, 'ports', name], `endpoint port ${name} is not defined by the service entry`)
    }
  })
  if (dns && !spec.endpoints?.length) {
    spec.hosts.forEach((host, i) => {
      if (host.includes('*')) {
        ctx.error(
          ['hosts', i],
          `hosts must be FQDN or contain only prefix wildcards if no endpoints are provided for resolution mode ${resolution}`,
        )
      }
    })
  }
  if (resolution === 'DYNAMIC_DNS') {
    if (!spec.hosts.some((h) => h.startsWith('*')))
      ctx.error(['hosts'], `at least one wildcard host must be provided for resolution type ${resolution}`)
    if (spec.addresses?.length || spec.endpoints?.length)
      ctx.error([], `addresses and endpoints must not be set for resolution type ${resolution}`)
  }
  if (resolution !== 'NONE' && spec.hosts.length > 1) {
    const nonHttp = spec.ports?.some(
      (p) => !['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'TLS'].includes((p.protocol ?? 'TCP').toUpperCase()),
    )
    if (nonHttp) ctx.error(['hosts'], 'multiple hosts provided with non-HTTP, non-TLS ports')
  }
}

export function workloadEntryRules(spec: WorkloadEntrySpec, ctx: RuleContext): void {
  checkEndpointAddress(ctx, ['address'], spec.address, true)
  checkLabels(ctx, ['labels'], spec.labels)
  for (const [name, port] of Object.entries(spec.ports ?? {})) checkPort(ctx, ['ports', name], port)
}
