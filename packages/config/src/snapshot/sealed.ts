/**
 * Values promised never to change again. Compiling a snapshot reuses what it made of a sealed
 * value for an earlier snapshot (its content hash, its compiled form), so that a change to one
 * resource costs every SDK instance that resource, not the whole config again. Only the holder
 * of a value can make that promise: the SDK seals the resources and endpoints it parsed from the
 * control plane; values a caller passes in stay unsealed and are compiled afresh every time.
 */
const SEALED = new WeakSet<object>()

/** Freezes `value` and everything it holds, and marks it sealed; answers it. */
export function seal<T>(value: T): T {
  if (value !== null && typeof value === 'object') SEALED.add(deepFreeze(value))
  return value
}

export function isSealed(value: object): boolean {
  return SEALED.has(value)
}

/**
 * What was made of a sealed value, per purpose: `made(value, context, make)` answers the earlier
 * result when `value` is sealed and was last made in the same `context`, else makes it (and
 * remembers it for a sealed value). Held weakly: a value no snapshot source holds any more goes.
 */
export class SealedCache<T> {
  readonly #entries = new WeakMap<object, { readonly context: string; readonly made: T }>()

  made(value: object, context: string, make: () => T): T {
    if (!SEALED.has(value)) return make()
    const entry = this.#entries.get(value)
    if (entry !== undefined && entry.context === context) return entry.made
    const made = make()
    this.#entries.set(value, { context, made })
    return made
  }
}

/** Freezes plain data (parsed JSON or YAML: no cycles) and everything it holds; answers it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
