// The config view: every resource the control plane holds (GET /api/v1/config), each with the
// findings `weft analyze` reports for it beside it.

import { el } from './format.js'

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 }

export function createConfigView({ tbody, summary, onlyFindings }) {
  let last
  function render() {
    if (!last) return
    const resources = [...(last.resources ?? [])].sort(
      (a, b) =>
        a.kind.localeCompare(b.kind) ||
        (a.namespace ?? '').localeCompare(b.namespace ?? '') ||
        a.name.localeCompare(b.name),
    )
    const counts = { error: 0, warning: 0, info: 0 }
    for (const r of resources)
      for (const f of r.findings ?? []) counts[f.severity] = (counts[f.severity] ?? 0) + 1
    summary.textContent = `${resources.length} resources at config version ${last.version ?? '–'}: ${counts.error} errors, ${counts.warning} warnings, ${counts.info} notes`
    const shown = onlyFindings.checked ? resources.filter((r) => (r.findings ?? []).length > 0) : resources
    const rows = shown.map((r) => {
      const findings = [...(r.findings ?? [])].sort(
        (a, b) => (SEVERITY_ORDER[a.severity] ?? 3) - (SEVERITY_ORDER[b.severity] ?? 3),
      )
      const key = `${r.kind}/${r.namespace ?? ''}/${r.name}`
      return el(
        'tr',
        { 'data-resource': key, 'data-findings': findings.length },
        el('td', { text: r.kind }),
        el('td', { text: r.namespace ?? '–' }),
        el('td', {}, el('code', { text: r.name })),
        el('td', { class: 'num', text: r.resourceVersion ?? '–' }),
        el(
          'td',
          {},
          findings.length === 0
            ? el('span', { class: 'muted', text: 'none' })
            : el(
                'ul',
                { class: 'findings' },
                findings.map((f) =>
                  el(
                    'li',
                    { 'data-finding-code': f.code, 'data-severity': f.severity },
                    el('span', { class: `badge severity-${f.severity}`, text: f.severity }),
                    el('code', { text: f.code }),
                    f.message,
                    f.path ? el('span', { class: 'muted', text: ` (${f.path})` }) : null,
                  ),
                ),
              ),
        ),
      )
    })
    tbody.replaceChildren(
      ...(rows.length > 0
        ? rows
        : [el('tr', {}, el('td', { colspan: 5, class: 'nothing', text: 'No resource to show.' }))]),
    )
  }
  onlyFindings.addEventListener('change', render)
  return {
    update(config) {
      last = config
      render()
    },
    version: () => last?.version,
  }
}
