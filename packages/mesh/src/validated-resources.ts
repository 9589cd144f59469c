import {
  type Diagnostic,
  DiagnosticCode,
  isSealed,
  objectDocument,
  type Resource,
  resourceKey,
  seal,
  validateDocuments,
} from '@weft/config'

interface Outcome {
  /** The validated resource (namespace filled in), or undefined when it was refused. */
  readonly resource: Resource | undefined
  readonly diagnostics: readonly Diagnostic[]
}

/** What is known of one sealed resource object: its memo id, what validation made of it, its key. */
interface Known {
  readonly store: string
  readonly id: string
  readonly outcome: Outcome
  readonly key: string | undefined
}

/**
 * Validation of the control plane's resources with a memory: a resource the control plane sent
 * before, unchanged — the same store, key and `resourceVersion`, which the store changes with
 * every write — is not validated again, and one refused before is refused again without work.
 * A resource without a `resourceVersion` is always validated. One per SDK instance: each
 * instance does its own validation, as it would alone in its process. A sealed resource object
 * (the watched config's, which a delta leaves in place when unchanged) is recognised by identity,
 * so that a change to one resource costs the others a lookup, not their memo keys made again.
 */
export class ValidatedResources {
  #outcomes = new Map<string, Outcome>()
  readonly #sealed = new WeakMap<object, Known>()

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
      const { outcome, key } = this.#outcome(r, store, file, outcomes)
      for (const d of outcome.diagnostics) diagnostics.push(d)
      if (!outcome.resource || key === undefined) continue
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

  /** What validation made of `r` (and its key): known by identity, remembered by id, or made now. */
  #outcome(
    r: Resource,
    store: string | undefined,
    file: string,
    outcomes: Map<string, Outcome>,
  ): { readonly outcome: Outcome; readonly key: string | undefined } {
    const sealed = store !== undefined && isSealed(r)
    const known = sealed ? this.#sealed.get(r) : undefined
    if (known !== undefined && known.store === store) {
      outcomes.set(known.id, known.outcome)
      return known
    }
    const version = r?.metadata?.resourceVersion
    const id =
      typeof version === 'string' && version !== '' && store !== undefined
        ? `${store}\n${r.kind}/${r.metadata.namespace}/${r.metadata.name}\n${version}`
        : undefined
    let outcome = id === undefined ? undefined : (outcomes.get(id) ?? this.#outcomes.get(id))
    if (!outcome) {
      const result = validateDocuments([objectDocument(r, file)])
      // Sealed: the snapshots compiled from it may reuse what they made of it (see `seal`).
      outcome = { resource: seal(result.resources[0]), diagnostics: result.diagnostics }
    }
    const key = outcome.resource ? resourceKey(outcome.resource) : undefined
    if (id !== undefined) {
      outcomes.set(id, outcome)
      if (sealed) this.#sealed.set(r, { store: store as string, id, outcome, key })
    }
    return { outcome, key }
  }
}
