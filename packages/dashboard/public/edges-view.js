// The graph's edges as a table: the same figures as the drawing, readable by keyboard and screen
// reader, sortable by eye, and easy for a test to read.

import { el, healthBadge, ms, percent, rps, shortHost } from './format.js'

/** A node's name for people: `productpage-v1`, `reviews` (a service), or its id. */
export function nodeName(node, id) {
  if (!node) return id
  return node.kind === 'service' ? `${node.service} (service)` : (node.workload ?? id)
}

export function createEdgesView(tbody, { onSelectEdge }) {
  let selected
  function update(graph) {
    const byId = new Map((graph.nodes ?? []).map((n) => [n.id, n]))
    const name = (id) => nodeName(byId.get(id), id)
    const edges = [...(graph.edges ?? [])].sort(
      (a, b) => name(a.source).localeCompare(name(b.source)) || name(a.target).localeCompare(name(b.target)),
    )
    const rows = edges.map((e) => {
      const health = (e.requests ?? 0) === 0 ? 'idle' : e.health
      const row = el(
        'tr',
        {
          'data-edge-id': e.id,
          'data-source': e.source,
          'data-target': e.target,
          'aria-selected': e.id === selected ? 'true' : 'false',
          tabindex: 0,
        },
        el('td', { 'data-col': 'source', text: name(e.source) }),
        el('td', { 'data-col': 'target', text: name(e.target) }),
        el('td', { 'data-col': 'service', text: shortHost(e.service, byId.get(e.target)?.namespace) }),
        el('td', { 'data-col': 'protocol', text: e.protocol ?? '–' }),
        el('td', { 'data-col': 'mtls', text: e.mtls ? 'yes' : 'no' }),
        el('td', { 'data-col': 'rps', class: 'num', text: rps(e.rps) }),
        el('td', { 'data-col': 'requests', class: 'num', text: e.requests ?? '–' }),
        el('td', { 'data-col': 'error-rate', class: 'num', text: percent(e.errorRate) }),
        el('td', { 'data-col': 'p50', class: 'num', text: ms(e.p50Ms) }),
        el('td', { 'data-col': 'p99', class: 'num', text: ms(e.p99Ms) }),
        el('td', { 'data-col': 'share', class: 'num', 'data-value': e.share, text: percent(e.share) }),
        el('td', { 'data-col': 'health' }, healthBadge(health)),
      )
      const choose = () => {
        selected = e.id
        onSelectEdge(e)
      }
      row.addEventListener('click', choose)
      row.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault()
          choose()
        }
      })
      return row
    })
    // Rows are rebuilt on every update: keep the keyboard where it was.
    const focused = tbody.contains(document.activeElement) ? document.activeElement.dataset.edgeId : undefined
    tbody.replaceChildren(
      ...(rows.length > 0
        ? rows
        : [el('tr', {}, el('td', { colspan: 12, class: 'nothing', text: 'No traffic in the window.' }))]),
    )
    if (focused) rows.find((r) => r.dataset.edgeId === focused)?.focus()
  }
  return {
    update,
    select(id) {
      selected = id
      for (const row of tbody.querySelectorAll('tr[data-edge-id]')) {
        row.setAttribute('aria-selected', row.dataset.edgeId === id ? 'true' : 'false')
      }
    },
  }
}
