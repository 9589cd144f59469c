/**
 * Values promised never to change again. Compiling a snapshot reuses what it made of a sealed
 * value for an earlier snapshot (its content hash, its compiled form), so that a change to one
 * resource costs every SDK instance that resource, not the whole config again. Only the holder
 * of a value can make that promise: the SDK seals the resources and endpoints it parsed from the
 * control plane; values a caller passes in stay unsealed and are compiled afresh every time.
 *
 * What was made of a sealed value lives on the value itself, in a hidden record added before it
 * is frozen, and goes when the value goes. Not in a WeakMap: V8's young-generation collector
 * keeps a WeakMap entry whose key is a new object until a full collection, so every config
 * change's parsed objects were promoted to the old generation, and an apply spent a third of
 * its time collecting them (packages/mesh/bench/apply.bench.mjs).
 */
const RECORD = Symbol('weft.sealed')

/** Two entries per cache (its slot): the context the value was last made in, and what was made. */
type SealedRecord = unknown[]

/** How many caches exist: a record is made that long, so that filling it never grows it. */
let slots = 0

function recordOf(value: object): SealedRecord | undefined {
  return (value as { [RECORD]?: SealedRecord })[RECORD]
}

/**
 * Freezes `value` and everything it holds, and marks it sealed; answers it. A value frozen
 * before it was sealed cannot carry the mark: it stays unsealed, and is compiled afresh.
 */
export function seal<T>(value: T): T {
  if (value === null || typeof value !== 'object' || recordOf(value) !== undefined) return value
  if (!Object.isFrozen(value)) {
    // Not enumerable: JSON, spreads, `Object.keys` and deep equality never see it.
    Object.defineProperty(value, RECORD, { value: new Array(slots * 2) })
  }
  return deepFreeze(value)
}

export function isSealed(value: object): boolean {
  return recordOf(value) !== undefined
}

/**
 * What was made of a sealed value, per purpose: `made(value, context, make)` answers the earlier
 * result when `value` is sealed and was last made in the same `context`, else makes it (and
 * remembers it for a sealed value, for as long as the value lives).
 */
export class SealedCache<T> {
  readonly #slot = slots++

  made(value: object, context: string, make: () => T): T {
    const record = recordOf(value)
    if (record === undefined) return make()
    const at = this.#slot * 2
    if (record[at] === context) return record[at + 1] as T
    const made = make()
    record[at] = context
    record[at + 1] = made
    return made
  }
}

/** Freezes plain data (parsed JSON or YAML: no cycles) and everything it holds; answers it. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value
  // No `Object.values`: an array per object frozen was 5 % of what an SDK allocated per change.
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i])
  } else {
    const record = value as Record<string, unknown>
    for (const key in record) if (Object.hasOwn(record, key)) deepFreeze(record[key])
  }
  return Object.freeze(value)
}
