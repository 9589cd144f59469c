import { analyze } from './analyze/analyze.js'
import type { Diagnostic } from './model/diagnostic.js'
import type { Resource } from './model/resource.js'
import { parseDocuments, type SourceDocument, type SourceText } from './parse/parse-documents.js'
import type { RegistryEndpoint } from './snapshot/service-registry.js'
import { type ValidateOptions, validateDocuments } from './validate/validate-documents.js'

export interface LoadOptions extends ValidateOptions {
  /** Also run `analyze` across the valid resources. */
  readonly analyze?: boolean
  readonly registry?: readonly RegistryEndpoint[]
  /**
   * Validate each text as its own unit, as `istioctl validate` does: two files may define the
   * same resource (alternative steps of a task). Off for a config that is applied as a whole.
   */
  readonly eachTextAlone?: boolean
}

export interface LoadedConfig {
  readonly resources: Resource[]
  readonly sources: SourceDocument[]
  /** Parse, validation and (if asked) analyzer findings, in file order. */
  readonly diagnostics: Diagnostic[]
}

/** Texts → resources: what `weft validate`, `weft apply` and a standalone mesh all do first. */
export function loadConfig(texts: readonly SourceText[], options: LoadOptions = {}): LoadedConfig {
  const units: SourceDocument[][] = []
  const diagnostics: Diagnostic[] = []
  for (const text of texts) {
    const parsed = parseDocuments(text)
    if (options.eachTextAlone || units.length === 0) units.push([])
    units[units.length - 1]?.push(...parsed.documents)
    diagnostics.push(...parsed.diagnostics)
  }
  const resources: Resource[] = []
  const sources: SourceDocument[] = []
  for (const unit of units) {
    const result = validateDocuments(unit, options)
    resources.push(...result.resources)
    sources.push(...result.sources)
    diagnostics.push(...result.diagnostics)
  }
  if (options.analyze) {
    diagnostics.push(...analyze(resources, sources, options.registry ? { registry: options.registry } : {}))
  }
  return { resources, sources, diagnostics }
}
