import {
  type Diagnostic,
  DiagnosticCode,
  objectDocument,
  type Resource,
  resourceKey,
  validateDocuments,
} from '@weft/config'

interface Outcome {
  /** The validated resource (namespace filled in), or undefined when it was refused. */
  readonly resource: Resource | undefined
  readonly diagnostics: readonly Diagnostic[]
}

/**
 * Validation of the control plane's resources with a memory: a resource the control plane sent
 * before, unchanged — the same store, key and `resourceVersion`, which the store changes with
 * every write — is not validated again, and one refused before is refused again without work.
 * A resource without a `resourceVersion` is always validated. One per SDK instance: each
 * instance does its own validation, as it would alone in its process.
 */
export class ValidatedResources {
  #outcomes = new Map<string, Outcome>()

  /**
   * Validates `resources` as `validateDocuments` would (each on its own, then no two with one
   * key); `store` names the history their `resourceVersion`s count in.
   */
  validate(
    resources: readonly Resource[],
    store: string | undefined,
    file: string,
  ): { resources: Resource[]; diagnostics: Diagnostic[] } {
    const outcomes = new Map<string, Outcome>()
    const valid: Resource[] = []
    const diagnostics: Diagnostic[] = []
    const seen = new Set<string>()
    for (const r of resources) {
      const version = r?.metadata?.resourceVersion
      const id =
        typeof version === 'string' && version !== '' && store !== undefined
          ? `${store}\n${r.kind}/${r.metadata.namespace}/${r.metadata.name}\n${version}`
          : undefined
      let outcome = id === undefined ? undefined : (outcomes.get(id) ?? this.#outcomes.get(id))
      if (!outcome) {
        const result = validateDocuments([objectDocument(r, file)])
        outcome = { resource: result.resources[0], diagnostics: result.diagnostics }
      }
      if (id !== undefined) outcomes.set(id, outcome)
      diagnostics.push(...outcome.diagnostics)
      if (!outcome.resource) continue
      const key = resourceKey(outcome.resource)
      if (seen.has(key)) {
        diagnostics.push({
          severity: 'error',
          code: DiagnosticCode.duplicate,
          message: `${key} is defined twice`,
          field: 'metadata.name',
          resource: key,
          file,
        })
        continue
      }
      seen.add(key)
      valid.push(outcome.resource)
    }
    // Only what the newest config holds is remembered: the memory never outgrows the config.
    this.#outcomes = outcomes
    return { resources: valid, diagnostics }
  }
}
