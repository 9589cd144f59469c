import { type Diagnostic, formatPath, type PathSegment } from '../model/diagnostic.js'
import { KINDS } from '../model/kinds.js'
import type { Resource, VirtualService } from '../model/resource.js'
import { resourceKey } from '../model/resource.js'
import type { SourceDocument } from '../parse/parse-documents.js'
import { appliesToMesh } from '../snapshot/compile-virtual-service.js'
import { Snapshot, type SnapshotOptions } from '../snapshot/snapshot.js'
import { AnalyzerMessage, type AnalyzerMessageType } from './analyzer-messages.js'

type Report = (type: AnalyzerMessageType, resource: number, path: PathSegment[], message: string) => void

/**
 * Looks across valid resources for what no single one shows wrong: references to subsets and
 * hosts that do not exist, rules that shadow each other or can never match, selectors that
 * select nothing, and kinds Weft reads but does not enforce. `sources[i]`, when given, places
 * the message for `resources[i]` in its file.
 */
export function analyze(
  resources: readonly Resource[],
  sources: readonly (SourceDocument | undefined)[] = [],
  options: Pick<SnapshotOptions, 'registry' | 'rootNamespace' | 'domainSuffix'> = {},
): Diagnostic[] {
  const snapshot = new Snapshot(resources, { ...options, trusted: true })
  const diagnostics: Diagnostic[] = []
  const report: Report = (type, index, path, message) => {
    const resource = resources[index] as Resource
    const source = sources[index]
    const at = source?.locate(path)
    diagnostics.push({
      severity: type.severity,
      code: type.code,
      message,
      field: formatPath(path),
      resource: resourceKey(resource),
      ...(source?.file !== undefined ? { file: source.file } : {}),
      ...(at ? { line: at.line, column: at.column } : {}),
    })
  }
  resources.forEach((r, i) => {
    const info = KINDS.get(r.kind)
    if (info?.enforcement === 'not-enforced') {
      report(
        AnalyzerMessage.KindNotEnforced,
        i,
        [],
        `${r.kind} is validated but not enforced: Weft runs no gateway or sidecar proxy to apply it`,
      )
    }
    if (r.kind === 'VirtualService') analyzeVirtualService(r, i, snapshot, report)
  })
  checkConflicts(resources, snapshot, report)
  checkSelectors(resources, snapshot, report)
  return diagnostics
}

function analyzeVirtualService(vs: VirtualService, index: number, snapshot: Snapshot, report: Report) {
  if (!appliesToMesh(vs)) {
    report(
      AnalyzerMessage.GatewayOnlyVirtualService,
      index,
      ['spec', 'gateways'],
      `applies only to gateways (${(vs.spec.gateways ?? []).join(', ')}), which Weft does not run; it routes no mesh traffic`,
    )
    return
  }
  const ns = vs.metadata.namespace
  const destinations: [PathSegment[], { host: string; subset?: string }][] = []
  vs.spec.http?.forEach((route, i) => {
    route.route?.forEach((d, j) => {
      destinations.push([['spec', 'http', i, 'route', j, 'destination'], d.destination])
    })
    if (route.mirror) destinations.push([['spec', 'http', i, 'mirror'], route.mirror])
    route.mirrors?.forEach((m, j) => {
      destinations.push([['spec', 'http', i, 'mirrors', j, 'destination'], m.destination])
    })
  })
  for (const section of ['tcp', 'tls'] as const) {
    vs.spec[section]?.forEach((route, i) => {
      route.route?.forEach((d, j) => {
        destinations.push([['spec', section, i, 'route', j, 'destination'], d.destination])
      })
    })
  }
  const known = snapshot.services.size > 0
  for (const [path, d] of destinations) {
    const host = snapshot.resolveHost(d.host, ns)
    if (known && !host.includes('*') && !snapshot.services.has(host)) {
      report(
        AnalyzerMessage.ReferencedHostNotFound,
        index,
        [...path, 'host'],
        `host "${d.host}" (${host}) is neither a known service nor a ServiceEntry host`,
      )
    }
    if (d.subset !== undefined) {
      const dr = snapshot.destinationRuleFor(host, ns)
      if (!dr?.subsets.has(d.subset)) {
        report(
          AnalyzerMessage.ReferencedSubsetNotFound,
          index,
          [...path, 'subset'],
          dr
            ? `subset "${d.subset}" is not defined by ${dr.source}, which defines ${[...dr.subsets.keys()].join(', ') || 'no subsets'}`
            : `subset "${d.subset}" of host ${host} is not defined: no DestinationRule for that host`,
        )
      }
    }
  }
  const http = vs.spec.http ?? []
  const catchAll = http.findIndex((route) => !route.match?.length || route.match.some(matchesEverything))
  if (catchAll >= 0 && catchAll < http.length - 1) {
    for (let i = catchAll + 1; i < http.length; i++) {
      report(
        AnalyzerMessage.VirtualServiceUnreachableRule,
        index,
        ['spec', 'http', i],
        `rule http[${i}]${http[i]?.name ? ` (${http[i]?.name})` : ''} is never used: http[${catchAll}] before it matches every request`,
      )
    }
  }
}

function matchesEverything(
  match: NonNullable<NonNullable<VirtualService['spec']['http']>[number]['match']>[number],
): boolean {
  const fields = Object.keys(match).filter((k) => k !== 'name' && k !== 'ignoreUriCase')
  if (fields.length === 0) return true
  return (
    fields.length === 1 &&
    match.uri !== undefined &&
    (match.uri.prefix === '/' || match.uri.prefix === '' || match.uri.regex === '.*')
  )
}

function checkConflicts(resources: readonly Resource[], snapshot: Snapshot, report: Report) {
  const firstByHost = new Map<string, number>()
  const firstDr = new Map<string, number>()
  resources.forEach((r, i) => {
    if (r.kind === 'VirtualService' && appliesToMesh(r)) {
      r.spec.hosts?.forEach((h, j) => {
        const host = snapshot.resolveHost(h, r.metadata.namespace)
        const earlier = firstByHost.get(host)
        if (earlier === undefined) firstByHost.set(host, i)
        else {
          report(
            AnalyzerMessage.ConflictingVirtualServiceHosts,
            i,
            ['spec', 'hosts', j],
            `host ${host} is also routed by ${resourceKey(resources[earlier] as Resource)}; only one VirtualService per host takes effect (merge their rules)`,
          )
        }
      })
    }
    if (r.kind === 'DestinationRule' && !r.spec.workloadSelector) {
      const key = `${r.metadata.namespace} ${snapshot.resolveHost(r.spec.host, r.metadata.namespace)}`
      const earlier = firstDr.get(key)
      if (earlier === undefined) firstDr.set(key, i)
      else {
        report(
          AnalyzerMessage.ConflictingDestinationRuleHosts,
          i,
          ['spec', 'host'],
          `host ${r.spec.host} also has ${resourceKey(resources[earlier] as Resource)} in this namespace; only one takes effect`,
        )
      }
    }
  })
}

function checkSelectors(resources: readonly Resource[], snapshot: Snapshot, report: Report) {
  if (snapshot.workloads.length === 0) return
  resources.forEach((r, i) => {
    let selector: Readonly<Record<string, string>> | undefined
    let path: PathSegment[] = []
    switch (r.kind) {
      case 'AuthorizationPolicy':
      case 'PeerAuthentication':
      case 'RequestAuthentication':
      case 'Telemetry':
      case 'RateLimitPolicy':
        selector = r.spec.selector?.matchLabels
        path = ['spec', 'selector']
        break
      case 'DestinationRule':
        selector = r.spec.workloadSelector?.matchLabels
        path = ['spec', 'workloadSelector']
        break
      default:
        return
    }
    if (!selector || Object.keys(selector).length === 0) return
    const root = r.metadata.namespace === snapshot.rootNamespace
    const match = snapshot.workloads.some(
      (w) =>
        (root || w.namespace === r.metadata.namespace) &&
        Object.entries(selector).every(([k, v]) => w.labels[k] === v),
    )
    if (!match) {
      const labels = Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
      report(
        AnalyzerMessage.NoMatchingWorkloadsFound,
        i,
        path,
        `no known workload ${root ? 'in the mesh' : `in namespace ${r.metadata.namespace}`} has labels ${labels}`,
      )
    }
  })
}
