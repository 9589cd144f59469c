type JsonSchema = Record<string, unknown>

/** A subschema this long (as canonical JSON) or longer is shared when it occurs twice or more. */
const SHARED_MIN_CHARS = 40
/** A subschema this long is given a function of its own even when it occurs once. */
const OWN_FUNCTION_MIN_CHARS = 2_000

/** Keys sorted at every level: two subschemas that differ only in key order are one. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )
}

/**
 * The subschemas of `schema` that describe a value of their own: each property's, the items',
 * additional properties'. Not those under `oneOf`, `anyOf`, `allOf` or `not`: an error inside a
 * branch must keep the branch's schema path, which the validator reads to tell the branch's
 * errors from the union's summary.
 */
function eachChild(schema: JsonSchema, visit: (child: JsonSchema) => JsonSchema): JsonSchema {
  const out: JsonSchema = {}
  for (const [key, value] of Object.entries(schema)) {
    if ((key === 'properties' || key === 'patternProperties') && isSchema(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, isSchema(child) ? visit(child) : child]),
      )
    } else if ((key === 'items' || key === 'additionalProperties') && isSchema(value)) {
      out[key] = visit(value)
    } else {
      out[key] = value
    }
  }
  return out
}

function isSchema(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/**
 * `schema` with its repeated subschemas, and its large ones, moved into `definitions` and
 * referred to by `$ref`: the same validation, in many small functions instead of one vast one.
 *
 * Istio's CRD schemas are written out in full (Kubernetes allows no `$ref`): a StringMatch wherever
 * something is matched, a Duration wherever a timeout is set. Ajv generates code for every
 * occurrence, so VirtualService's validator was one function of 283 KB of source and
 * DestinationRule's one of 758 KB. V8 compiles such a function again at each of its tiers, and
 * an SDK validating each changed resource paid that in the middle of applying changes
 * (docs/benchmarks.md, config propagation). Use with Ajv's `inlineRefs: false`, or Ajv puts
 * the subschemas back in place.
 */
export function shareSubschemas(schema: JsonSchema): JsonSchema {
  const keys = new Map<JsonSchema, string>()
  const occurrences = new Map<string, number>()
  const count = (node: JsonSchema): JsonSchema => {
    const key = canonical(node)
    keys.set(node, key)
    occurrences.set(key, (occurrences.get(key) ?? 0) + 1)
    eachChild(node, count)
    return node
  }
  eachChild(schema, count)

  const definitions: Record<string, JsonSchema> = {}
  const names = new Map<string, string>()
  const place = (node: JsonSchema): JsonSchema => {
    const key = keys.get(node) as string
    const shared = (occurrences.get(key) as number) > 1 && key.length >= SHARED_MIN_CHARS
    if (!shared && key.length < OWN_FUNCTION_MIN_CHARS) return eachChild(node, place)
    let name = names.get(key)
    if (name === undefined) {
      name = `s${names.size}`
      names.set(key, name)
      definitions[name] = eachChild(node, place)
    }
    return { $ref: `#/definitions/${name}` }
  }
  const root = eachChild(schema, place)
  return names.size === 0 ? root : { ...root, definitions }
}
