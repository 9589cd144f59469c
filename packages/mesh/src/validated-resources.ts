import {
  type Diagnostic,
  DiagnosticCode,
  objectDocument,
  type Resource,
  resourceKey,
  SealedCache,
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
  readonly id: string | undefined
  readonly outcome: Outcome
  readonly key: string | undefined
}

// Validation is a function of the resource, its store and the file named in diagnostics, so the
// instances in one process may share what they know of a sealed object (each seals its own).
const known = new SealedCache<Known>()

/**
 * Validation of the control plane's resources with a memory: a resource the control plane sent
 * before, unchanged — the same store, key and `resourceVersion`, which the store changes with
 * every write — is not validated again, and one refused before is refused again without work.
 * A resource without a `resourceVersion` is validated again, unless it is a sealed object seen
 * before: a sealed resource (the watched config's, which a delta leaves in place when unchanged)
 * is recognised by identity, so that a change to one resource costs the others a lookup, not
 * their memo keys made again. One per SDK instance: each instance validates what it parsed.
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
    const context = `${store}\n${file}`
    // Indexed loops: every SDK instance runs this on every change (see the Snapshot constructor).
    for (let i = 0; i < resources.length; i++) {
      const { outcome, key } = this.#outcome(resources[i] as Resource, store, file, context, outcomes)
      for (let j = 0; j < outcome.diagnostics.length; j++)
        diagnostics.push(outcome.diagnostics[j] as Diagnostic)
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
    context: string,
    outcomes: Map<string, Outcome>,
  ): Known {
    const found =
      store === undefined
        ? this.#made(r, store, file, outcomes)
        : known.made(r, context, () => this.#made(r, store, file, outcomes))
    if (found.id !== undefined) outcomes.set(found.id, found.outcome)
    return found
  }

  /** Validates `r`, or finds it by its memo id (`store`, key, `resourceVersion`) where it has one. */
  #made(r: Resource, store: string | undefined, file: string, outcomes: Map<string, Outcome>): Known {
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
    return { id, outcome, key }
  }
}
