// Where each node of the graph goes: callers left of the services they call, as Kiali draws a
// mesh. Cytoscape places compound nodes (the service boxes) around their children, so only the
// leaves (workloads, and services with no workload) get a position; the result feeds Cytoscape's
// `preset` layout. Deterministic: the same nodes and edges always give the same picture.

const LEAF_HEIGHT = 36
const LEAF_GAP = 30
const GROUP_PADDING = 34
const GROUP_GAP = 44
const COLUMN_GAP = 270
const ROW_GAP = 80

/**
 * @param nodes  [{ id, kind, parent?, version?, workload? }]
 * @param edges  [{ source, target }]
 * @returns Map of leaf id → { x, y }
 */
export function layeredPositions(nodes, edges) {
  const ids = new Set(nodes.map((n) => n.id))
  const parents = new Set(nodes.filter((n) => n.parent && ids.has(n.parent)).map((n) => n.parent))
  const leaves = nodes.filter((n) => !parents.has(n.id))
  const groupOf = new Map(leaves.map((n) => [n.id, n.parent && ids.has(n.parent) ? n.parent : n.id]))
  // An edge may end at a service box itself (calls no workload answered): that box is its group.
  for (const parent of parents) groupOf.set(parent, parent)
  const members = new Map()
  for (const leaf of leaves) {
    const group = groupOf.get(leaf.id)
    if (!members.has(group)) members.set(group, [])
    members.get(group).push(leaf)
  }
  for (const list of members.values()) list.sort(byVersion)

  const next = new Map()
  const previous = new Map()
  for (const e of edges) {
    const from = groupOf.get(e.source)
    const to = groupOf.get(e.target)
    if (from === undefined || to === undefined || from === to) continue
    link(next, from, to)
    link(previous, to, from)
  }
  const connected = [...members.keys()].filter((g) => next.has(g) || previous.has(g)).sort()
  const isolated = [...members.keys()].filter((g) => !next.has(g) && !previous.has(g)).sort()
  const rank = ranks(connected, next, previous)

  const columns = []
  for (const group of connected) {
    const r = rank.get(group)
    columns[r] ??= []
    columns[r].push(group)
  }
  const positions = new Map()
  const centre = new Map()
  columns.forEach((column, r) => {
    // Order a column by where its callers sit (their mean height): fewer crossing edges.
    const weight = (g) => {
      const ys = [...(previous.get(g) ?? [])].map((p) => centre.get(p)).filter((y) => y !== undefined)
      return ys.length === 0 ? Number.POSITIVE_INFINITY : ys.reduce((a, b) => a + b, 0) / ys.length
    }
    column.sort((a, b) => weight(a) - weight(b) || a.localeCompare(b))
    const heights = column.map((g) => groupHeight(members.get(g).length))
    const total = heights.reduce((a, b) => a + b, 0) + GROUP_GAP * (column.length - 1)
    let y = -total / 2
    column.forEach((group, i) => {
      placeGroup(positions, members.get(group), r * COLUMN_GAP, y)
      centre.set(group, y + heights[i] / 2)
      y += heights[i] + GROUP_GAP
    })
  })

  // Services with no traffic yet sit in a row underneath, out of the flow's way.
  const bottom = Math.max(0, ...[...positions.values()].map((p) => p.y + LEAF_HEIGHT))
  const top = connected.length === 0 ? 0 : bottom + ROW_GAP
  const perRow = Math.max(3, columns.length)
  isolated.forEach((group, i) => {
    const row = Math.floor(i / perRow)
    const tallest = Math.max(...isolated.map((g) => groupHeight(members.get(g).length)))
    placeGroup(
      positions,
      members.get(group),
      (i % perRow) * COLUMN_GAP * 0.6,
      top + row * (tallest + GROUP_GAP),
    )
  })
  return positions
}

function link(map, from, to) {
  if (!map.has(from)) map.set(from, new Set())
  map.get(from).add(to)
}

function groupHeight(count) {
  return GROUP_PADDING + count * LEAF_HEIGHT + (count - 1) * LEAF_GAP
}

function placeGroup(positions, leaves, x, top) {
  leaves.forEach((leaf, i) => {
    positions.set(leaf.id, { x, y: top + GROUP_PADDING / 2 + i * (LEAF_HEIGHT + LEAF_GAP) + LEAF_HEIGHT / 2 })
  })
}

/**
 * Longest-path layering (Kahn's order): a group's column is one past its furthest caller. A
 * cycle is broken at the group with the fewest callers still unplaced, so every call graph
 * lays out.
 */
function ranks(groups, next, previous) {
  const rank = new Map(groups.map((g) => [g, 0]))
  const waiting = new Map(groups.map((g) => [g, previous.get(g)?.size ?? 0]))
  const done = new Set()
  while (done.size < groups.length) {
    let ready = groups.filter((g) => !done.has(g) && waiting.get(g) === 0)
    if (ready.length === 0) {
      const open = groups.filter((g) => !done.has(g))
      const least = Math.min(...open.map((g) => waiting.get(g)))
      ready = [open.find((g) => waiting.get(g) === least)]
    }
    for (const g of ready) {
      done.add(g)
      for (const callee of next.get(g) ?? []) {
        if (done.has(callee)) continue
        rank.set(callee, Math.max(rank.get(callee), rank.get(g) + 1))
        waiting.set(callee, waiting.get(callee) - 1)
      }
    }
  }
  return rank
}

function byVersion(a, b) {
  return (a.version ?? a.workload ?? a.id).localeCompare(b.version ?? b.workload ?? b.id, 'en', {
    numeric: true,
  })
}
