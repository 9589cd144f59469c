// How figures read on the page: one place, so the graph's labels and the tables agree.

export const HEALTH_LABELS = {
  healthy: 'Healthy',
  degraded: 'Degraded',
  failing: 'Failing',
  idle: 'No traffic',
}

export function rps(value) {
  if (value === undefined || value === null) return '–'
  if (value === 0) return '0'
  if (value < 0.1) return value.toFixed(2)
  return value < 10 ? value.toFixed(1) : String(Math.round(value))
}

/** A ratio (0..1) as a percentage to one decimal (two near 0, where one would read as 0). */
export function percent(ratio) {
  if (ratio === undefined || ratio === null || Number.isNaN(ratio)) return '–'
  const p = ratio * 100
  if (p === 0) return '0%'
  if (p < 0.1) return `${p.toFixed(2)}%`
  return `${Math.round(p * 10) / 10}%`
}

export function ms(value) {
  if (value === undefined || value === null) return '–'
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`
}

export function ago(epochMs, nowMs = Date.now()) {
  if (!epochMs) return '–'
  const s = Math.max(0, Math.round((nowMs - epochMs) / 1000))
  if (s < 120) return `${s}s ago`
  if (s < 7200) return `${Math.round(s / 60)}m ago`
  return `${Math.round(s / 3600)}h ago`
}

/** `svc:default/reviews` → `{ namespace: 'default', name: 'reviews' }`. */
export function serviceOfNode(node) {
  if (!node) return undefined
  if (node.namespace && node.service) return { namespace: node.namespace, name: node.service }
  return undefined
}

/** `reviews.default.svc.cluster.local` → `reviews` (in namespace `default`); other hosts as they are. */
export function shortHost(host, namespace) {
  if (typeof host !== 'string') return '–'
  const suffix = `.${namespace}.svc.cluster.local`
  return namespace && host.endsWith(suffix) ? host.slice(0, -suffix.length) : host
}

/** A DOM element with attributes and children, so that no view builds HTML from strings. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue
    if (name === 'class') node.className = value
    else if (name === 'text') node.textContent = value
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value)
    else node.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    node.append(child instanceof Node ? child : String(child))
  }
  return node
}

export function healthBadge(health) {
  const h = health ?? 'idle'
  return el('span', { class: `health health-${h}`, 'data-health': h, text: HEALTH_LABELS[h] ?? h })
}
