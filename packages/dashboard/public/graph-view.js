// The service graph: each service a box (a Cytoscape compound node) holding its workloads, one
// per version; an edge per caller → callee workload, labelled with its traffic and coloured by
// its health. Updates from the stream change data in place; the layout runs again only when a
// node or a new caller → callee pair appears, so nothing jumps while the reader looks at it.

import { ms, percent, rps } from './format.js'
import { layeredPositions } from './layered-layout.js'

const COLOURS = {
  healthy: '#3e8635',
  degraded: '#f0ab00',
  failing: '#c9190b',
  idle: '#8a8d90',
}

const STYLE = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      'font-family': 'system-ui, sans-serif',
      'font-size': 11,
      color: '#151515',
      'text-wrap': 'wrap',
      'text-valign': 'center',
      'text-halign': 'center',
      shape: 'round-rectangle',
      width: 116,
      height: 36,
      'background-color': '#ffffff',
      'border-width': 2,
      'border-color': COLOURS.idle,
    },
  },
  {
    selector: 'node:parent, node[kind = "service"]',
    style: {
      'background-color': '#f2f5f9',
      'background-opacity': 1,
      'border-width': 1.5,
      'font-weight': 'bold',
      'font-size': 12,
      padding: 12,
    },
  },
  { selector: 'node:parent', style: { 'text-valign': 'top', 'text-margin-y': -4 } },
  { selector: 'node[kind = "service"]:childless', style: { 'border-style': 'dashed' } },
  ...['healthy', 'degraded', 'failing'].map((h) => ({
    selector: `node[health = "${h}"]`,
    style: { 'border-color': COLOURS[h] },
  })),
  { selector: 'node[?nack]', style: { 'border-style': 'double', 'border-width': 4, color: COLOURS.failing } },
  {
    selector: 'node:selected',
    style: { 'overlay-color': '#0066cc', 'overlay-opacity': 0.12, 'border-width': 3 },
  },
  {
    selector: 'edge',
    style: {
      'curve-style': 'bezier',
      'target-arrow-shape': 'triangle',
      'arrow-scale': 0.9,
      width: 'data(width)',
      'line-color': COLOURS.idle,
      'target-arrow-color': COLOURS.idle,
      label: 'data(label)',
      'font-family': 'system-ui, sans-serif',
      'font-size': 10,
      'text-wrap': 'wrap',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.9,
      'text-background-padding': 2,
      'text-border-opacity': 0,
      color: '#151515',
    },
  },
  ...['healthy', 'degraded', 'failing'].map((h) => ({
    selector: `edge[health = "${h}"]`,
    style: { 'line-color': COLOURS[h], 'target-arrow-color': COLOURS[h] },
  })),
  { selector: 'edge[health = "idle"]', style: { 'line-style': 'dashed' } },
  // A caller's fan-out edges meet at the caller: their labels sit near each callee instead.
  {
    selector: 'edge[labelAt = "target"]',
    style: { label: '', 'target-label': 'data(label)', 'target-text-offset': 62 },
  },
  { selector: 'edge:selected', style: { 'overlay-color': '#0066cc', 'overlay-opacity': 0.15 } },
]

/** What an edge's label says, per the "Edge labels" choice. */
export function edgeLabel(edge, mode) {
  if (mode === 'none') return ''
  const lock = edge.mtls ? 'mTLS ' : ''
  const traffic = `${rps(edge.rps)} rps · ${percent(edge.share)}`
  const quality = `${percent(edge.errorRate)} err · p99 ${ms(edge.p99Ms)}`
  switch (mode) {
    case 'rps':
      return `${lock}${rps(edge.rps)} rps`
    case 'share':
      return `${lock}${percent(edge.share)}`
    case 'latency':
      return `${lock}p50 ${ms(edge.p50Ms)} · p99 ${ms(edge.p99Ms)}`
    default:
      return `${traffic}\n${quality}\n${lock}${edge.protocol ?? ''}`
  }
}

function edgeHealth(edge) {
  return (edge.requests ?? 0) === 0 ? 'idle' : (edge.health ?? 'healthy')
}

function nodeLabel(node) {
  if (node.kind === 'service') return node.service ?? node.id
  const name = node.version && node.app ? node.version : (node.workload ?? node.id)
  const lines = [name]
  if ((node.instances ?? 1) > 1) lines[0] += ` ×${node.instances}`
  if (node.config?.state === 'NACK') lines.push('⚠ NACK')
  return lines.join('\n')
}

function nodeData(node) {
  return {
    id: node.id,
    label: nodeLabel(node),
    kind: node.kind,
    health: node.health ?? 'idle',
    nack: node.config?.state === 'NACK',
    ...(node.parent ? { parent: node.parent } : {}),
  }
}

function edgeData(edge, mode, labelAt) {
  return {
    id: edge.id,
    source: edge.source,
    target: edge.target,
    label: edgeLabel(edge, mode),
    labelAt,
    health: edgeHealth(edge),
    width: 1.5 + Math.min(4.5, Math.log10(1 + (edge.rps ?? 0)) * 2.5),
  }
}

function count(values) {
  const counts = new Map()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return counts
}

/** Cytoscape fixes an element's id, ends and parent when it is added; updates carry the rest. */
function mutable({ id, parent, source, target, ...rest }) {
  return rest
}

/**
 * @param container the element Cytoscape draws into
 * @param handlers  { onSelectNode(node), onSelectEdge(edge) } with the API's node and edge objects
 */
export function createGraphView(container, { onSelectNode, onSelectEdge }) {
  const cy = globalThis.cytoscape({
    container,
    style: STYLE,
    elements: [],
    minZoom: 0.15,
    maxZoom: 3,
    boxSelectionEnabled: false,
    selectionType: 'single',
  })
  let shown = { nodes: [], edges: [] }
  let labelMode = 'all'
  const pairs = new Set()
  let layouts = 0

  cy.on('tap', 'node', (event) => {
    const node = shown.nodes.find((n) => n.id === event.target.id())
    if (node) onSelectNode(node)
  })
  cy.on('tap', 'edge', (event) => {
    const edge = shown.edges.find((e) => e.id === event.target.id())
    if (edge) onSelectEdge(edge)
  })

  function update(graph) {
    const nodes = graph.nodes ?? []
    const known = new Set(nodes.map((n) => n.id))
    // An edge whose end is not a node of this graph cannot be drawn; the Edges table still lists it.
    const edges = (graph.edges ?? []).filter((e) => known.has(e.source) && known.has(e.target))
    const edgeIds = new Set(edges.map((e) => e.id))
    const out = count(edges.map((e) => e.source))
    const into = count(edges.map((e) => e.target))
    let grew = false
    cy.batch(() => {
      cy.edges()
        .filter((e) => !edgeIds.has(e.id()))
        .remove()
      cy.nodes()
        .filter((n) => !known.has(n.id()))
        .remove()
      // Parents first: a child names a parent that must already exist.
      const ordered = [...nodes].sort((a, b) => Number(Boolean(a.parent)) - Number(Boolean(b.parent)))
      for (const node of ordered) {
        const data = nodeData(node)
        const existing = cy.getElementById(node.id)
        if (existing.nonempty() && (existing.data('parent') ?? null) === (data.parent ?? null)) {
          existing.data(mutable(data))
          continue
        }
        existing.remove()
        cy.add({ group: 'nodes', data })
        grew = true
      }
      for (const edge of edges) {
        const fanOut = out.get(edge.source) > 1 && into.get(edge.target) === 1
        const data = edgeData(edge, labelMode, fanOut ? 'target' : 'middle')
        const existing = cy.getElementById(edge.id)
        if (existing.nonempty()) existing.data(mutable(data))
        else cy.add({ group: 'edges', data })
        const pair = `${edge.source}\u0000${edge.target}`
        if (!pairs.has(pair)) {
          pairs.add(pair)
          grew = true
        }
      }
    })
    shown = { ...graph, nodes, edges: graph.edges ?? [] }
    if (grew) relayout()
  }

  function relayout() {
    const positions = layeredPositions(
      shown.nodes,
      shown.edges.filter((e) => cy.getElementById(e.id).nonempty()),
    )
    const first = layouts++ === 0
    cy.layout({
      name: 'preset',
      positions: (node) => positions.get(node.id()) ?? node.position(),
      fit: true,
      padding: 40,
      animate: !first,
      animationDuration: 250,
    }).run()
  }

  function setLabelMode(mode) {
    labelMode = mode
    cy.batch(() => {
      for (const edge of shown.edges) {
        const element = cy.getElementById(edge.id)
        if (element.nonempty()) element.data('label', edgeLabel(edge, mode))
      }
    })
  }

  function select(id) {
    cy.elements(':selected').unselect()
    if (id) cy.getElementById(id).select()
  }

  return {
    update,
    setLabelMode,
    select,
    fit: () => cy.fit(undefined, 40),
    resize: () => cy.resize(),
    /** After the graph's box changed size (the detail panel opened or closed). */
    refit: () => {
      cy.resize()
      cy.fit(undefined, 40)
    },
    model: () => shown,
    positions: () =>
      Object.fromEntries(
        cy
          .nodes()
          .filter((n) => n.isChildless())
          .map((n) => [n.id(), { ...n.position() }]),
      ),
    layouts: () => layouts,
    /** Where an element is drawn, in page coordinates (for a pointer, or a test, to click it). */
    box: (id) => {
      const element = cy.getElementById(id)
      if (element.empty()) return undefined
      const b = element.renderedBoundingBox({ includeLabels: false })
      const r = container.getBoundingClientRect()
      return { x1: r.left + b.x1, y1: r.top + b.y1, x2: r.left + b.x2, y2: r.top + b.y2 }
    },
    colours: COLOURS,
  }
}
