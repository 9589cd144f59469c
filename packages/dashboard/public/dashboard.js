// The page's entry: the token, the tabs, the live graph stream, and which view shows what.

import { createApiClient, forgetToken, saveToken, TokenRefusedError, takeToken } from './api-client.js'
import { createConfigView } from './config-view.js'
import { createEdgesView, nodeName } from './edges-view.js'
import { ago } from './format.js'
import { createGraphView } from './graph-view.js'
import { renderEdge, renderNode, renderService } from './service-detail.js'

const $ = (id) => document.getElementById(id)

function showProblem(message) {
  const banner = $('problem')
  banner.textContent = message ?? ''
  banner.hidden = !message
}

function askForToken(reason) {
  document.body.dataset.token = 'missing'
  $('app').hidden = true
  $('no-token').hidden = false
  $('token-problem').hidden = !reason
  $('token-problem').textContent = reason ?? ''
  setStatus('refused', 'no token')
}

/** Replaces the detail panel's content, keeping the keyboard on the control it was on. */
function showDetail(title, content) {
  const body = $('detail-body')
  const focused = body.contains(document.activeElement) ? document.activeElement.id : ''
  $('detail-title').textContent = title
  body.replaceChildren(content)
  if (focused) document.getElementById(focused)?.focus()
}

function setStatus(state, text) {
  const status = $('stream-status')
  status.dataset.state = state
  status.textContent = text
}

function setUpTabs(onShow) {
  const tabs = ['graph', 'edges', 'config'].map((name) => $(`tab-${name}`))
  const show = (tab) => {
    for (const t of tabs) {
      const selected = t === tab
      t.setAttribute('aria-selected', String(selected))
      t.tabIndex = selected ? 0 : -1
      $(t.getAttribute('aria-controls')).hidden = !selected
    }
    onShow(tab.id.slice('tab-'.length))
  }
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => show(tab))
    tab.addEventListener('keydown', (event) => {
      const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0
      if (step === 0) return
      const next = tabs[(i + step + tabs.length) % tabs.length]
      next.focus()
      show(next)
    })
  })
}

function start(token) {
  delete document.body.dataset.token
  $('no-token').hidden = true
  $('app').hidden = false
  const api = createApiClient(token)
  let graph = { nodes: [], edges: [] }
  let selection
  let view = 'graph'
  let receivedAtMs
  let drawnAtMs
  let stream
  let detailLoading = false
  let detailAgain = false
  let configLoading = false

  const refused = (error) => {
    if (!(error instanceof TokenRefusedError)) return false
    forgetToken()
    stream?.abort()
    askForToken(`The control plane refused the token: ${error.message}`)
    return true
  }

  const graphView = createGraphView($('graph'), {
    // A caller with no service of its own (`unknown`) has only the graph's figures to show.
    onSelectNode: (node) =>
      select(
        node.service
          ? { kind: 'service', namespace: node.namespace, name: node.service, id: node.id }
          : { kind: 'node', id: node.id },
      ),
    onSelectEdge: (edge) => select({ kind: 'edge', id: edge.id }),
  })
  const edgesView = createEdgesView($('edges-table').tBodies[0], {
    onSelectEdge: (edge) => select({ kind: 'edge', id: edge.id }),
  })
  const configView = createConfigView({
    tbody: $('config-table').tBodies[0],
    summary: $('config-summary'),
    onlyFindings: $('config-only-findings'),
  })

  function nameOf(id) {
    return nodeName(
      graph.nodes.find((n) => n.id === id),
      id,
    )
  }

  function serviceOpener(id) {
    const node = graph.nodes.find((n) => n.id === id)
    if (!node?.service) return undefined
    return () =>
      select({ kind: 'service', namespace: node.namespace, name: node.service, id: node.parent ?? node.id })
  }

  async function renderDetail() {
    const panel = $('detail')
    if (!selection) {
      panel.hidden = true
      graphView.refit()
      return
    }
    const wasHidden = panel.hidden
    panel.hidden = view === 'config'
    if (wasHidden && !panel.hidden) graphView.refit()
    if (selection.kind === 'edge') {
      const edge = graph.edges.find((e) => e.id === selection.id)
      showDetail(
        edge ? `${nameOf(edge.source)} → ${nameOf(edge.target)}` : 'Edge',
        edge
          ? renderEdge(edge, nameOf, serviceOpener(edge.target))
          : document.createTextNode('No traffic on this edge in the window.'),
      )
      return
    }
    if (selection.kind === 'node') {
      const node = graph.nodes.find((n) => n.id === selection.id)
      showDetail(
        nameOf(selection.id),
        node ? renderNode(node) : document.createTextNode('No longer in the graph.'),
      )
      return
    }
    // One request at a time; a selection made meanwhile is loaded when it ends.
    if (detailLoading) {
      detailAgain = true
      return
    }
    detailLoading = true
    detailAgain = false
    const wanted = selection
    try {
      const description = await api.service(wanted.namespace, wanted.name)
      if (selection !== wanted) return
      const node = graph.nodes.find(
        (n) => n.kind === 'service' && n.namespace === wanted.namespace && n.service === wanted.name,
      )
      showDetail(`${wanted.name}.${wanted.namespace}`, renderService(description, node))
      showProblem()
    } catch (error) {
      if (!refused(error) && selection === wanted) {
        showDetail(`${wanted.name}.${wanted.namespace}`, document.createTextNode(error.message))
      }
    } finally {
      detailLoading = false
      if (detailAgain) void renderDetail()
    }
  }

  function select(next) {
    selection = next
    graphView.select(next?.kind === 'edge' ? next.id : next?.id)
    edgesView.select(next?.kind === 'edge' ? next.id : undefined)
    return renderDetail()
  }

  async function loadConfig() {
    if (configLoading) return
    configLoading = true
    try {
      configView.update(await api.config())
      showProblem()
    } catch (error) {
      if (!refused(error)) showProblem(error.message)
    } finally {
      configLoading = false
    }
  }

  function onGraph(next) {
    receivedAtMs ??= performance.now()
    graph = { ...next, nodes: next.nodes ?? [], edges: next.edges ?? [] }
    graphView.update(graph)
    edgesView.update(graph)
    $('graph-empty').hidden = graph.nodes.length > 0
    const services = graph.nodes.filter((n) => n.kind === 'service').length
    $('graph-version').textContent =
      `config v${graph.version ?? '–'} · ${services} services · ${graph.edges.length} edges · ${graph.windowSeconds ?? '–'} s window`
    $('graph-version').title = `generated ${ago(graph.generatedAt)}`
    if (drawnAtMs === undefined) requestAnimationFrame(() => (drawnAtMs = performance.now()))
    if (selection) void renderDetail()
    if (view === 'config' && graph.version !== configView.version()) void loadConfig()
  }

  function connect() {
    stream?.abort()
    stream = new AbortController()
    const windowSeconds = Number($('window').value)
    void api.streamGraph(windowSeconds, {
      signal: stream.signal,
      onGraph,
      onStatus: (state, error) => {
        if (state instanceof Error) {
          refused(state)
          return
        }
        if (state === 'live') showProblem()
        if (state === 'retrying') showProblem(`The graph stream stopped (${error?.message}); reconnecting…`)
        setStatus(state, state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'reconnecting…')
      },
    })
  }

  setUpTabs((name) => {
    view = name
    // The detail panel belongs to the graph and its edges; the config view takes the whole width.
    $('detail').hidden = name === 'config' || !selection
    if (name === 'graph') graphView.refit()
    if (name === 'config') void loadConfig()
  })
  $('window').addEventListener('change', connect)
  $('edge-labels').addEventListener('change', (event) => graphView.setLabelMode(event.target.value))
  $('fit').addEventListener('click', () => graphView.fit())
  $('detail-close').addEventListener('click', () => select(undefined))
  window.addEventListener('resize', () => graphView.resize())

  // What tests and curious readers can ask the page: the model behind the canvas.
  window.weftDashboard = {
    graph: () => graphView.model(),
    positions: () => graphView.positions(),
    layouts: () => graphView.layouts(),
    box: (id) => graphView.box(id),
    selectService: (namespace, name) =>
      select({ kind: 'service', namespace, name, id: `svc:${namespace}/${name}` }),
    timing: () => {
      const [navigation] = performance.getEntriesByType('navigation')
      const loaded = navigation?.domContentLoadedEventEnd
      return {
        domContentLoadedMs: loaded,
        graphReceivedMs: receivedAtMs,
        graphDrawnMs: drawnAtMs,
        loadToGraphMs: loaded !== undefined && drawnAtMs !== undefined ? drawnAtMs - loaded : undefined,
      }
    },
  }
  connect()
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const token = $('token-input').value.trim()
  if (!token) return
  saveToken(token)
  // A fresh page starts from the stored token, whatever an earlier session left behind.
  window.location.reload()
})

const token = takeToken()
if (token) start(token)
else askForToken()
