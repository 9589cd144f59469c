/** A segment of a field path: an object key or an array index. */
export type PathSegment = string | number

export type Severity = 'error' | 'warning' | 'info'

/**
 * One finding about the config: a validation error, or an analyzer message. Its shape is
 * JSON-friendly so that `-o json`, the control plane's 400 replies and `weft status` carry it
 * unchanged.
 */
export interface Diagnostic {
  readonly severity: Severity
  /** Stable: `WEFT_CONFIG_*` for validation, `WFT0NNN` for analyzer messages. */
  readonly code: string
  readonly message: string
  /** `spec.http[0].route[1].weight`; empty for the document itself. */
  readonly field: string
  /** `Kind/namespace/name`, when the document got far enough to have one. */
  readonly resource?: string
  readonly file?: string
  readonly line?: number
  readonly column?: number
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = ''
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) out += out ? `.${segment}` : segment
    else out += `[${JSON.stringify(segment)}]`
  }
  return out
}

/** `file:line:col Kind/namespace/name: field.path: message`, as `weft validate` prints it. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}:${d.line ?? 1}:${d.column ?? 1} ` : ''
  const what = d.resource ? `${d.resource}: ` : ''
  const field = d.field ? `${d.field}: ` : ''
  // Analyzer findings carry their code, so that people can look them up and scripts grep them.
  const tag = d.severity === 'error' && !d.code.startsWith('WFT') ? '' : `${d.severity} ${d.code} `
  return `${where}${what}${field}${tag}${d.message}`
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  for (let i = 0; i < diagnostics.length; i++) if (diagnostics[i]?.severity === 'error') return true
  return false
}
