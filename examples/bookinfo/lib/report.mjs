// A step's result as a table a reader can scan.

const fmt = (counts) =>
  Object.entries(counts)
    .filter(([k]) => k !== 'none')
    .map(([k, n]) => `${k}:${n}`)
    .join(' ') || '-'

const ms = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`)

export function formatStep(index, step, result) {
  const header = ['traffic', 'n', 'reviews', 'stars', 'status', 'p50', 'p99', 'seen', 'expected (Istio)', '']
  const rows = result.rows.map((r) => {
    const s = r.summary
    const seen = r.seen ?? describe(s)
    return s
      ? [
          r.traffic,
          String(s.n),
          fmt(s.versions),
          fmt(s.stars),
          fmt(s.statuses),
          ms(s.p50),
          ms(s.p99),
          seen,
          r.expected,
          r.ok ? 'ok' : 'FAIL',
        ]
      : [r.traffic, '', '', '', '', '', '', seen, r.expected, r.ok ? 'ok' : 'FAIL']
  })
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  return [
    '',
    `${index}. ${step.title}  [${result.ok ? 'met' : 'NOT MET'}, ${ms(result.ms)}]`,
    `   Istio task: ${step.task}`,
    ...result.changes.map((c) => `   applied: ${c}`),
    '',
    ...[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].map((l) => `   ${l}`),
  ].join('\n')
}

function describe(s) {
  if (s.statuses['200'] === undefined)
    return s.first?.body ? `“${s.first.body.slice(0, 48)}”` : (s.first?.error ?? '-')
  const parts = []
  if (s.detailsErrors) parts.push(`details error ×${s.detailsErrors}`)
  if (s.reviewsErrors) parts.push(`reviews error ×${s.reviewsErrors}`)
  if (s.ratingsErrors) parts.push(`ratings error ×${s.ratingsErrors}`)
  const flags = fmt(s.flags)
  if (flags !== '-') parts.push(`flags ${flags}`)
  return parts.join(', ') || 'whole page'
}
