import type { Resource } from '@weft/config'
import { ExitCode, UsageError } from '../errors.js'
import type { Io } from '../io.js'
import { age, formatData, formatTable, type OutputFormat } from '../output.js'
import { readSources } from '../read-sources.js'
import { callApi, callApiAt, RemoteError, type RemoteOptions, serversOf } from './remote.js'

interface ApplyAnswer {
  version: number
  results: { key: string; action: string; resourceVersion?: string }[]
  warnings: string[]
}

export interface ApplyOptions extends RemoteOptions {
  readonly filename: string[]
  readonly recursive?: boolean
  readonly namespace?: string
  readonly output?: OutputFormat
}

/** `weft apply -f`: every file as one set, all applied or none. */
export async function applyCommand(options: ApplyOptions, io: Io): Promise<number> {
  const files = await readSources(options.filename, options.recursive ?? false, io.readStdin)
  const answer = await callApi<ApplyAnswer>(
    options,
    'POST',
    `/api/v1/apply?namespace=${encodeURIComponent(options.namespace ?? 'default')}`,
    { json: { files } },
  )
  if (options.output === 'json' || options.output === 'yaml') io.out(formatData(answer, options.output))
  else {
    for (const r of answer.results) io.out(`${r.key} ${r.action}\n`)
    for (const w of answer.warnings) io.err(`${w}\n`)
    io.err(`config version ${answer.version}\n`)
  }
  return ExitCode.ok
}

/** `VirtualService`, `virtualservice`, `virtualservices` and `vs` all name one kind. */
async function kindOf(name: string): Promise<string> {
  // Loaded when a kind is named: the rest of the config stack is not needed to talk to the API.
  const { KINDS } = await import('@weft/config')
  const lower = name.toLowerCase()
  const short: Record<string, string> = {
    vs: 'VirtualService',
    dr: 'DestinationRule',
    se: 'ServiceEntry',
    we: 'WorkloadEntry',
    ap: 'AuthorizationPolicy',
    pa: 'PeerAuthentication',
    ra: 'RequestAuthentication',
  }
  const kinds = [...KINDS.keys()]
  const kind = short[lower] ?? kinds.find((k) => k.toLowerCase() === lower || `${k.toLowerCase()}s` === lower)
  if (!kind) throw new UsageError(`unknown kind ${name}; one of ${kinds.join(', ')}`)
  return kind
}

export interface GetOptions extends RemoteOptions {
  readonly namespace?: string
  readonly allNamespaces?: boolean
  readonly output?: OutputFormat
}

/** `weft get KIND [NAME]`. */
export async function getCommand(
  kindName: string,
  name: string | undefined,
  options: GetOptions,
  io: Io,
): Promise<number> {
  const kind = await kindOf(kindName)
  const namespace = options.namespace ?? 'default'
  let items: Resource[]
  if (name) {
    items = [
      await callApi<Resource>(
        options,
        'GET',
        `/api/v1/resources/${kind}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
      ),
    ]
  } else {
    const query = new URLSearchParams({ kind, ...(options.allNamespaces ? {} : { namespace }) })
    items = (await callApi<{ items: Resource[] }>(options, 'GET', `/api/v1/resources?${query}`)).items
  }
  if (options.output === 'json' || options.output === 'yaml') {
    io.out(formatData(name ? items[0] : { apiVersion: 'v1', kind: 'List', items }, options.output))
    return ExitCode.ok
  }
  if (items.length === 0) {
    io.err(`no ${kind} in ${options.allNamespaces ? 'any namespace' : `namespace ${namespace}`}\n`)
    return ExitCode.ok
  }
  io.out(
    formatTable(
      ['namespace', 'name', 'version'],
      items
        .sort((a, b) =>
          `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
            `${b.metadata.namespace}/${b.metadata.name}`,
          ),
        )
        .map((r) => [r.metadata.namespace, r.metadata.name, r.metadata.resourceVersion ?? '']),
    ),
  )
  return ExitCode.ok
}

/** `weft delete KIND NAME`. */
export async function deleteCommand(
  kindName: string,
  name: string,
  options: GetOptions,
  io: Io,
): Promise<number> {
  const kind = await kindOf(kindName)
  const namespace = options.namespace ?? 'default'
  const answer = await callApi<{ version: number }>(
    options,
    'DELETE',
    `/api/v1/resources/${kind}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
  )
  io.out(`${kind}/${namespace}/${name} deleted\n`)
  io.err(`config version ${answer.version}\n`)
  return ExitCode.ok
}

interface StatusAnswer {
  version: number
  endpoints: {
    service: string
    namespace: string
    address: string
    port: number
    labels?: Record<string, string>
  }[]
  workloads: {
    instance: string
    service: string
    namespace: string
    sent: number
    applied?: number
    state: string
    reason?: string
    connected: boolean
    lastSeenMs: number
  }[]
}

type StatusWorkload = StatusAnswer['workloads'][number] & { replica?: string }

/**
 * The replicas' answers as one: each instance once, from the replica it is connected to (else
 * the one that saw it last). Endpoints and the config version live in the shared store; the
 * newest replica's are shown.
 */
function mergeStatus(answers: readonly { server: string; answer: StatusAnswer }[]): StatusAnswer {
  const byInstance = new Map<string, StatusWorkload>()
  for (const { server, answer } of answers) {
    for (const w of answer.workloads) {
      const seen = byInstance.get(w.instance)
      const newer =
        !seen ||
        (w.connected && !seen.connected) ||
        (w.connected === seen.connected && w.lastSeenMs > seen.lastSeenMs)
      if (newer) byInstance.set(w.instance, { ...w, replica: server })
    }
  }
  const newest = answers.reduce((a, b) => (b.answer.version > a.answer.version ? b : a)).answer
  return { version: newest.version, endpoints: newest.endpoints, workloads: [...byInstance.values()] }
}

/**
 * `weft status`: every workload watching, what it applied, ACK or NACK and why. Each replica
 * knows the instances that watch it; given several (`--server a,b`), it asks them all and says
 * which replica each instance watches. A replica that cannot be reached is named, the rest shown,
 * and the exit code is 3: the view is incomplete.
 */
export async function statusCommand(
  options: RemoteOptions & { output?: OutputFormat },
  io: Io,
): Promise<number> {
  const servers = serversOf(options)
  const settled = await Promise.allSettled(
    servers.map(async (server) => ({
      server,
      answer: await callApiAt<StatusAnswer>(server, options, 'GET', '/api/v1/status'),
    })),
  )
  const answers: { server: string; answer: StatusAnswer }[] = []
  const missing: { server: string; error: RemoteError }[] = []
  for (const [i, result] of settled.entries()) {
    if (result.status === 'fulfilled') answers.push(result.value)
    else if (result.reason instanceof RemoteError && result.reason.unreachable)
      missing.push({ server: servers[i] as string, error: result.reason })
    // A refusal (a bad token, say) is not a partial view: it ends the command.
    else throw result.reason
  }
  if (answers.length === 0) throw (missing[0] as { error: RemoteError }).error
  const several = servers.length > 1
  const answer = several ? mergeStatus(answers) : (answers[0] as { answer: StatusAnswer }).answer
  const code = missing.length > 0 ? ExitCode.unreachable : ExitCode.ok
  for (const m of missing) io.err(`${m.error.message}; its workloads are not shown\n`)
  if (options.output === 'json' || options.output === 'yaml') {
    const replicas = servers.map((server) => {
      const failed = missing.find((m) => m.server === server)
      return failed ? { server, reachable: false, error: failed.error.message } : { server, reachable: true }
    })
    io.out(formatData(several ? { ...answer, replicas } : answer, options.output))
    return code
  }
  io.err(`config version ${answer.version}; ${answer.endpoints.length} endpoint(s) registered\n`)
  if (answer.workloads.length === 0) {
    io.err('no workload has connected yet\n')
    return code
  }
  const columns = [
    'namespace',
    'workload',
    'instance',
    'applied',
    'state',
    'connected',
    'last seen',
    'reason',
  ]
  io.out(
    formatTable(
      several ? [...columns, 'replica'] : columns,
      answer.workloads.map((w: StatusWorkload) => {
        const row = [
          w.namespace,
          w.service,
          w.instance,
          w.applied === undefined ? '-' : String(w.applied),
          w.state === 'PENDING' ? `PENDING ${w.sent}` : w.state,
          w.connected ? 'yes' : 'no',
          age(w.lastSeenMs),
          w.reason ?? '',
        ]
        return several ? [...row, w.replica ?? ''] : row
      }),
    ),
  )
  return code
}

/** `weft token create`: prints a workload token (to stdout alone, so that scripts can capture it). */
export async function tokenCreateCommand(
  options: RemoteOptions & { namespace: string; serviceAccount: string },
  io: Io,
): Promise<number> {
  const answer = await callApi<{ token: string }>(options, 'POST', '/api/v1/tokens', {
    json: { namespace: options.namespace, serviceAccount: options.serviceAccount },
  })
  io.out(`${answer.token}\n`)
  return ExitCode.ok
}

/** An endpoint's health as the control plane merged it from the instances' reports. */
interface EndpointHealth {
  health: 'healthy' | 'ejected' | 'unknown'
  ejectedBy: string[]
}

interface ServiceDescription {
  version: number
  host: string
  namespace: string
  ports: { number: number; name?: string; protocol?: string }[]
  endpoints: ({
    address: string
    port: number
    labels: Record<string, string>
    serviceAccount?: string
    mtls: boolean
    locality?: string
  } & EndpointHealth)[]
  virtualServices: Resource[]
  routes: {
    virtualService: string
    http: {
      destinations: { host: string; subset: string | null; observedShare: number | null; requests: number }[]
    }[]
  }[]
  destinationRule?: Resource
  subsets: {
    name: string
    labels: Record<string, string>
    endpoints: ({ address: string; port: number } & EndpointHealth)[]
  }[]
  policies: { key: string; kind: string; summary: string }[]
  workloads: StatusAnswer['workloads']
}

function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')
}

/** One VirtualService rule as a line: its matches and where it sends traffic. */
function ruleText(rule: {
  match?: unknown[]
  route?: { destination?: { host?: string; subset?: string; port?: { number?: number } }; weight?: number }[]
  redirect?: unknown
  directResponse?: { status?: number }
  fault?: unknown
  timeout?: string
}): string {
  const match = rule.match?.length ? `match ${JSON.stringify(rule.match)}` : 'every request'
  const to = rule.route
    ? rule.route
        .map((r) => {
          const d = r.destination ?? {}
          return `${d.host ?? '?'}${d.subset ? `/${d.subset}` : ''}${r.weight !== undefined ? ` ${r.weight}%` : ''}`
        })
        .join(', ')
    : rule.redirect
      ? 'redirect'
      : rule.directResponse
        ? `direct response ${rule.directResponse.status ?? ''}`
        : '?'
  const extras = [rule.fault ? 'fault' : '', rule.timeout ? `timeout ${rule.timeout}` : ''].filter(Boolean)
  return `${match} → ${to}${extras.length ? ` (${extras.join(', ')})` : ''}`
}

function healthText(e: EndpointHealth): string {
  return e.health === 'ejected' ? `ejected (by ${e.ejectedBy.join(', ')})` : e.health
}

/** `reviews/v1 79.5% (159)`: what a rule's destinations received in the control plane's window. */
function observedText(
  destinations: ServiceDescription['routes'][number]['http'][number]['destinations'],
): string | undefined {
  if (!destinations.some((d) => d.requests > 0)) return undefined
  return destinations
    .map((d) => {
      const share = d.observedShare === null ? '-' : `${Math.round(d.observedShare * 1000) / 10}%`
      return `${d.host.split('.')[0]}${d.subset ? `/${d.subset}` : ''} ${share} (${d.requests})`
    })
    .join(', ')
}

/** `weft describe service NAME`: routes, subsets with their endpoints, policies, workloads. */
export async function describeServiceCommand(
  name: string,
  options: RemoteOptions & { namespace?: string; output?: OutputFormat },
  io: Io,
): Promise<number> {
  const namespace = options.namespace ?? 'default'
  const d = await callApi<ServiceDescription>(
    options,
    'GET',
    `/api/v1/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
  )
  if (options.output === 'json' || options.output === 'yaml') {
    io.out(formatData(d, options.output))
    return ExitCode.ok
  }
  const out: string[] = [`Service:   ${d.host}  (config version ${d.version})`]
  out.push(`Ports:     ${d.ports.map((p) => `${p.number}${p.name ? `/${p.name}` : ''}`).join(', ') || '-'}`)
  out.push('', 'Routes:')
  if (d.virtualServices.length === 0)
    out.push('  no VirtualService: every request to the service, any endpoint')
  d.virtualServices.forEach((vs, i) => {
    const inForce = i === 0 ? '' : '  (not in force: another VirtualService for this host comes first)'
    out.push(`  ${vs.kind}/${vs.metadata.namespace}/${vs.metadata.name}${inForce}`)
    const http = (vs.spec as { http?: Parameters<typeof ruleText>[0][] }).http ?? []
    const observed = i === 0 ? d.routes?.[0]?.http : undefined
    for (const [n, rule] of http.entries()) {
      out.push(`    http[${n}] ${ruleText(rule)}`)
      const seen = observedText(observed?.[n]?.destinations ?? [])
      if (seen) out.push(`      observed: ${seen}`)
    }
  })
  out.push('', 'Subsets:')
  if (!d.destinationRule) out.push('  no DestinationRule')
  else {
    out.push(
      `  ${d.destinationRule.kind}/${d.destinationRule.metadata.namespace}/${d.destinationRule.metadata.name}`,
    )
    for (const s of d.subsets) {
      out.push(`    ${s.name}  {${labelText(s.labels)}}  ${s.endpoints.length} endpoint(s)`)
      for (const e of s.endpoints) out.push(`      ${e.address}:${e.port}  ${healthText(e)}`)
    }
  }
  out.push('', 'Endpoints:')
  out.push(
    d.endpoints.length === 0
      ? '  none'
      : formatTable(
          ['address', 'labels', 'service account', 'mtls', 'health'],
          d.endpoints.map((e) => [
            `${e.address}:${e.port}`,
            labelText(e.labels),
            e.serviceAccount ?? '-',
            e.mtls ? 'yes' : 'no',
            healthText(e),
          ]),
        )
          .trimEnd()
          .replace(/^/gm, '  '),
  )
  out.push('', 'Policies on its workloads:')
  if (d.policies.length === 0) out.push('  none')
  for (const p of d.policies) out.push(`  ${p.key}  ${p.summary}`)
  out.push('', 'Instances watching:')
  if (d.workloads.length === 0) out.push('  none')
  for (const w of d.workloads) {
    out.push(`  ${w.instance}  applied ${w.applied ?? '-'}  ${w.state}${w.reason ? ` (${w.reason})` : ''}`)
  }
  io.out(`${out.join('\n')}\n`)
  return ExitCode.ok
}

/** `weft dump`: one workload's view of the config, for people (YAML) or scripts (`-o json`). */
export async function dumpCommand(
  service: string,
  options: RemoteOptions & { namespace?: string; output?: OutputFormat },
  io: Io,
): Promise<number> {
  const query = new URLSearchParams({ namespace: options.namespace ?? 'default', service })
  const answer = await callApi<object>(options, 'GET', `/api/v1/dump?${query}`)
  io.out(formatData(answer, options.output === 'json' ? 'json' : 'yaml'))
  return ExitCode.ok
}
