// The detail panel: what governs one service (GET /api/v1/services/NS/NAME) — its routes in
// order with each destination's configured weight beside the share it actually received, its
// subsets with their endpoints' health, the policies on its workloads, and the config version
// each instance holds — or the figures of one edge of the graph. Plain DOM, with ids and data
// attributes, so that keyboards, screen readers and tests can reach every part.

import { ago, el, healthBadge, ms, percent, rps, shortHost } from './format.js'

function section(id, title, ...content) {
  return el('section', { id }, el('h3', { text: title }), ...content)
}

function nothing(text) {
  return el('p', { class: 'nothing', text })
}

function labelsText(labels) {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
}

/** `{ uri: { prefix: '/api' }, headers: { 'end-user': { exact: 'jason' } } }` → readable text. */
export function matchText(match) {
  if (!Array.isArray(match) || match.length === 0) return 'every request'
  return match
    .map((m) => {
      const parts = []
      for (const [field, value] of Object.entries(m ?? {})) {
        if (field === 'name') continue
        if (value && typeof value === 'object' && !Array.isArray(value)) {
          const how = Object.keys(value)
          if (how.length === 1 && ['exact', 'prefix', 'regex'].includes(how[0])) {
            parts.push(`${field} ${how[0]} ${JSON.stringify(value[how[0]])}`)
            continue
          }
          for (const [name, condition] of Object.entries(value)) {
            const [kind, text] = Object.entries(condition ?? {})[0] ?? ['present', '']
            parts.push(`${field}.${name} ${kind} ${JSON.stringify(text)}`)
          }
        } else {
          parts.push(`${field} = ${JSON.stringify(value)}`)
        }
      }
      return parts.join(' and ') || 'every request'
    })
    .join(' or ')
}

const ACTIONS = {
  redirect: 'answers with a redirect',
  directResponse: 'answers directly (no upstream)',
  delegate: 'delegates to another VirtualService',
}

function destinationsTable(destinations, namespace) {
  // Weights are relative, and a lone destination takes everything whatever its weight (as Istio).
  const total = destinations.reduce((sum, x) => sum + Math.max(0, x.weight ?? 0), 0)
  const configured = (x) =>
    destinations.length === 1 ? 1 : total === 0 ? null : Math.max(0, x.weight ?? 0) / total
  return el(
    'table',
    { class: 'grid destinations' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col', text: 'Destination' }),
        el('th', { scope: 'col', class: 'num', text: 'Weight' }),
        el('th', { scope: 'col', class: 'num', text: 'Observed' }),
        el('th', { scope: 'col', class: 'num', text: 'Requests' }),
      ),
    ),
    el(
      'tbody',
      {},
      destinations.map((x) => {
        const share = configured(x)
        const name = `${shortHost(x.host, namespace)}${x.subset ? ` / ${x.subset}` : ''}`
        const bars = el(
          'div',
          {
            class: 'share-bars',
            'aria-hidden': 'true',
            title: `configured ${percent(share)} (light), observed ${percent(x.observedShare)} (dark)`,
          },
          el('i', { class: 'weight' }),
          el('i', { class: 'observed' }),
        )
        bars.children[0].style.width = `${Math.round((share ?? 0) * 100)}%`
        bars.children[1].style.width = `${Math.round((x.observedShare ?? 0) * 100)}%`
        return el(
          'tr',
          {
            'data-destination': x.subset ?? shortHost(x.host, namespace),
            'data-weight': x.weight,
            'data-observed-share': x.observedShare,
          },
          el('td', {}, name, bars),
          el('td', { class: 'num', text: percent(share) }),
          el('td', { class: 'num', text: percent(x.observedShare) }),
          el('td', { class: 'num', text: x.requests ?? '–' }),
        )
      }),
    ),
  )
}

function routesSection(d) {
  const routes = d.routes ?? []
  if (routes.length === 0) {
    return section(
      'detail-routes',
      'Routes',
      nothing('No VirtualService: every request goes to any endpoint of the service.'),
    )
  }
  return section(
    'detail-routes',
    'Routes',
    routes.map((vs) =>
      el(
        'div',
        { class: 'virtual-service', 'data-virtual-service': vs.virtualService },
        el('h4', { text: vs.virtualService }),
        (vs.http ?? []).length === 0
          ? nothing('No HTTP rules.')
          : el(
              'ol',
              { class: 'rules' },
              (vs.http ?? []).map((rule, i) =>
                el(
                  'li',
                  { 'data-rule-index': i },
                  el(
                    'div',
                    { class: 'rule-match' },
                    `http[${i}]${rule.name ? ` ${rule.name}` : ''}: ${matchText(rule.match)}`,
                    rule.fault ? ' · fault injection' : '',
                    rule.timeout ? ` · timeout ${rule.timeout}` : '',
                  ),
                  rule.kind && rule.kind !== 'route'
                    ? el('div', {
                        text: `${ACTIONS[rule.kind] ?? rule.kind}${rule.directResponse?.status ? ` ${rule.directResponse.status}` : ''}`,
                      })
                    : destinationsTable(rule.destinations ?? [], d.namespace),
                ),
              ),
            ),
      ),
    ),
  )
}

function endpointRows(endpoints) {
  return el(
    'table',
    { class: 'grid endpoints' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { scope: 'col', text: 'Endpoint' }),
        el('th', { scope: 'col', text: 'Health' }),
        el('th', { scope: 'col', text: 'Labels' }),
      ),
    ),
    el(
      'tbody',
      {},
      endpoints.map((e) => {
        const address =
          e.port !== undefined && !String(e.address).includes(':') ? `${e.address}:${e.port}` : e.address
        const health = e.health ?? 'unknown'
        const ejectedBy = e.ejectedBy ?? []
        return el(
          'tr',
          { 'data-endpoint': address, 'data-health': health },
          el('td', {}, el('code', { text: address })),
          el(
            'td',
            {},
            el('span', { class: `health health-${health}`, text: health }),
            ejectedBy.length > 0
              ? el('div', { class: 'muted', text: `ejected by ${ejectedBy.join(', ')}` })
              : null,
          ),
          el('td', { text: labelsText(e.labels) }),
        )
      }),
    ),
  )
}

function subsetsSection(d) {
  const dr = d.destinationRule
  const subsets = d.subsets ?? []
  if (!dr || subsets.length === 0) {
    return section(
      'detail-subsets',
      'Endpoints',
      dr ? null : nothing('No DestinationRule: no subsets.'),
      (d.endpoints ?? []).length === 0 ? nothing('No endpoint registered.') : endpointRows(d.endpoints),
    )
  }
  return section(
    'detail-subsets',
    'Subsets and endpoints',
    el('div', { class: 'muted', text: `${dr.kind}/${dr.metadata.namespace}/${dr.metadata.name}` }),
    subsets.map((s) => {
      const endpoints = s.endpoints ?? []
      return el(
        'div',
        { class: 'subset', 'data-subset': s.name },
        el('h4', {}, s.name, el('span', { class: 'muted', text: `  {${labelsText(s.labels)}}` })),
        endpoints.length === 0 ? nothing('No endpoint in this subset.') : endpointRows(endpoints),
      )
    }),
  )
}

function policiesSection(d) {
  const policies = d.policies ?? []
  return section(
    'detail-policies',
    'Policies on its workloads',
    policies.length === 0
      ? nothing('None.')
      : el(
          'ul',
          {},
          policies.map((p) =>
            el(
              'li',
              { 'data-policy': p.key },
              el('code', { text: p.key }),
              p.summary ? ` — ${p.summary}` : '',
            ),
          ),
        ),
  )
}

function workloadsSection(d) {
  const workloads = d.workloads ?? []
  return section(
    'detail-workloads',
    'Workloads and their config',
    workloads.length === 0
      ? nothing('No instance is watching.')
      : el(
          'table',
          { class: 'grid' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              el('th', { scope: 'col', text: 'Instance' }),
              el('th', { scope: 'col', text: 'Version' }),
              el('th', { scope: 'col', class: 'num', text: 'Config' }),
              el('th', { scope: 'col', text: 'State' }),
              el('th', { scope: 'col', text: 'Seen' }),
            ),
          ),
          el(
            'tbody',
            {},
            workloads.map((w) =>
              el(
                'tr',
                { 'data-instance': w.instance, 'data-state': w.state },
                el('td', {}, el('code', { text: w.instance })),
                el('td', { text: w.labels?.version ?? '–' }),
                el('td', { class: 'num', text: w.applied ?? '–' }),
                el(
                  'td',
                  {},
                  el('span', { class: `badge state-${w.state}`, text: w.state }),
                  w.reason ? el('div', { class: 'problem', text: w.reason }) : null,
                ),
                el('td', { text: w.connected === false ? `gone, ${ago(w.lastSeenMs)}` : ago(w.lastSeenMs) }),
              ),
            ),
          ),
        ),
  )
}

/** The panel's content for a service description. */
export function renderService(d, node) {
  return el(
    'div',
    { 'data-service': `${d.namespace}/${shortHost(d.host, d.namespace)}` },
    el(
      'dl',
      { class: 'facts' },
      el('dt', { text: 'Host' }),
      el('dd', {}, el('code', { text: d.host })),
      el('dt', { text: 'Health' }),
      el('dd', {}, healthBadge(node?.health)),
      (d.ports ?? []).length > 0 ? el('dt', { text: 'Ports' }) : null,
      (d.ports ?? []).length > 0
        ? el('dd', { text: d.ports.map((p) => `${p.number}${p.name ? `/${p.name}` : ''}`).join(', ') })
        : null,
      el('dt', { text: 'Config version' }),
      el('dd', { text: d.version ?? '–' }),
    ),
    routesSection(d),
    subsetsSection(d),
    policiesSection(d),
    workloadsSection(d),
  )
}

/**
 * The panel's content for one edge of the graph; `openService` (when the callee is a service of
 * the mesh) opens that service's detail — the keyboard's way there from the Edges table.
 */
export function renderEdge(edge, nameOf, openService) {
  const facts = [
    ['From', nameOf(edge.source)],
    ['To', nameOf(edge.target)],
    ['Service', edge.service],
    ['Protocol', `${edge.protocol ?? '–'}${edge.mtls ? ', mutual TLS' : ', plaintext'}`],
    ['Requests per second', rps(edge.rps)],
    ['Requests in window', edge.requests ?? '–'],
    ['Errors', `${edge.errors ?? '–'} (${percent(edge.errorRate)})`],
    ['Latency', `p50 ${ms(edge.p50Ms)} · p99 ${ms(edge.p99Ms)}`],
    ['Share of the caller’s calls to the service', percent(edge.share)],
  ]
  return el(
    'div',
    { id: 'detail-edge', 'data-edge-id': edge.id },
    el(
      'dl',
      { class: 'facts' },
      facts.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]),
      el('dt', { text: 'Health' }),
      el('dd', {}, healthBadge((edge.requests ?? 0) === 0 ? 'idle' : edge.health)),
    ),
    openService
      ? el(
          'button',
          { type: 'button', id: 'detail-open-service', onclick: openService },
          'Rules and endpoints of the service',
        )
      : null,
  )
}

/** The panel's content for a node with no service: a caller the mesh cannot name. */
export function renderNode(node) {
  return el(
    'div',
    { id: 'detail-node', 'data-node-id': node.id },
    el(
      'dl',
      { class: 'facts' },
      el('dt', { text: 'Workload' }),
      el('dd', { text: node.workload ?? node.id }),
      el('dt', { text: 'Namespace' }),
      el('dd', { text: node.namespace ?? '–' }),
      el('dt', { text: 'Health' }),
      el('dd', {}, healthBadge(node.health)),
    ),
    nothing(
      'Calls from a client the mesh cannot name (no workload of its own): a load generator, a browser, a process outside the mesh.',
    ),
  )
}
