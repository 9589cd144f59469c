import { type Diagnostic, formatDiagnostic } from './model/diagnostic.js'

/** Base of every error `@weft/config` throws; `code` is public API. */
export class WeftConfigError extends Error {
  override name = 'WeftConfigError'
  readonly code: string = 'WEFT_CONFIG_ERROR'
}

/** Config that failed validation; nothing of it was applied. */
export class ConfigInvalidError extends WeftConfigError {
  override name = 'ConfigInvalidError'
  override readonly code = 'WEFT_CONFIG_INVALID'
  readonly diagnostics: readonly Diagnostic[]

  constructor(diagnostics: readonly Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error')
    const shown = errors.slice(0, 5).map(formatDiagnostic)
    const more = errors.length > shown.length ? `\n  … and ${errors.length - shown.length} more` : ''
    super(
      `config is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}); fix these and apply again:\n  ${shown.join('\n  ')}${more}`,
    )
    this.diagnostics = diagnostics
  }
}

/** Codes of validation diagnostics. */
export const DiagnosticCode = Object.freeze({
  yaml: 'WEFT_CONFIG_YAML',
  document: 'WEFT_CONFIG_DOCUMENT',
  unknownKind: 'WEFT_CONFIG_UNKNOWN_KIND',
  unknownField: 'WEFT_CONFIG_UNKNOWN_FIELD',
  schema: 'WEFT_CONFIG_SCHEMA',
  rule: 'WEFT_CONFIG_RULE',
  semantic: 'WEFT_CONFIG_SEMANTIC',
  duplicate: 'WEFT_CONFIG_DUPLICATE',
})
