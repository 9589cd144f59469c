import { type Diagnostic, formatDiagnostic, loadConfig } from '@weft/config'
import { ExitCode } from '../errors.js'
import type { Io } from '../io.js'
import { readSources } from '../read-sources.js'

export interface CheckOptions {
  readonly filename: string[]
  readonly recursive?: boolean
  readonly output?: 'text' | 'json'
  readonly namespace?: string
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

/** `weft validate` and `weft analyze`: the same pipeline, analyze adding the cross-resource pass. */
export async function checkConfig(options: CheckOptions, withAnalysis: boolean, io: Io): Promise<number> {
  const texts = await readSources(options.filename, options.recursive ?? false, io.readStdin)
  const loaded = loadConfig(texts, {
    analyze: withAnalysis,
    // validate checks files one by one, as istioctl does; analyze looks at them as one config.
    eachTextAlone: !withAnalysis,
    ...(options.namespace ? { defaultNamespace: options.namespace } : {}),
  })
  const diagnostics: Diagnostic[] = loaded.diagnostics
  const errors = diagnostics.filter((d) => d.severity === 'error').length
  if (options.output === 'json') {
    io.out(
      `${JSON.stringify({ valid: errors === 0, files: texts.length, resources: loaded.resources.length, diagnostics }, null, 2)}\n`,
    )
  } else {
    for (const d of diagnostics) io.out(`${formatDiagnostic(d)}\n`)
    const warnings = diagnostics.length - errors
    const verdict = errors === 0 ? (withAnalysis ? 'analyzed' : 'valid') : 'invalid'
    io.err(
      `${plural(loaded.resources.length, 'resource')} in ${plural(texts.length, 'file')}: ${verdict} (${plural(errors, 'error')}, ${plural(warnings, 'other message')})\n`,
    )
  }
  return errors === 0 ? ExitCode.ok : ExitCode.invalid
}
