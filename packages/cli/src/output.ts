import yaml from 'js-yaml'

export type OutputFormat = 'table' | 'json' | 'yaml'

/** A value for scripts: JSON, or YAML (documents separated as kubectl separates them). */
export function formatData(value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`
  return yaml.dump(value, { noRefs: true, lineWidth: 120 })
}

/** Rows for people: columns padded to their widest cell, headers in capitals. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('   ')
      .trimEnd()
  return `${[line(headers.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n')}\n`
}

/** `3s`, `2m`, `5h` since a moment, as kubectl's AGE column. */
export function age(sinceMs: number, nowMs = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - sinceMs) / 1000))
  if (s < 120) return `${s}s`
  if (s < 7200) return `${Math.round(s / 60)}m`
  if (s < 172800) return `${Math.round(s / 3600)}h`
  return `${Math.round(s / 86400)}d`
}
