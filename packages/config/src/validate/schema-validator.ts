import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { closest, distance } from 'fastest-levenshtein'
import { DiagnosticCode } from '../errors.js'
import istioSchemas from '../generated/istio-schemas.json' with { type: 'json' }
import type { PathSegment } from '../model/diagnostic.js'
import { parseDurationMs } from '../model/duration.js'
import { apiVersionsOf, KINDS } from '../model/kinds.js'
import { rateLimitPolicySchema } from '../model/rate-limit-policy-schema.js'
import { type CelRule, type CelRuleSource, compileCelRule, DURATION_RULE } from './cel-rules.js'
import { shareSubschemas } from './shared-subschemas.js'

/** A schema violation, before it is placed in a file. */
export interface SchemaIssue {
  readonly code: string
  readonly path: PathSegment[]
  /** Point at the key rather than the value (unknown fields). */
  readonly atKey: boolean
  readonly message: string
}

type JsonSchema = Record<string, unknown>

// Kubernetes ObjectMeta, as far as a config file may carry it.
const metadataSchema: JsonSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253 },
    namespace: { type: 'string', minLength: 1, maxLength: 63 },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    resourceVersion: { type: 'string' },
    generation: { type: 'integer' },
    uid: { type: 'string' },
    creationTimestamp: { type: ['string', 'null'] },
    generateName: { type: 'string' },
    finalizers: { type: 'array', items: { type: 'string' } },
    ownerReferences: { type: 'array', items: { type: 'object' } },
    managedFields: { type: 'array', items: { type: 'object' } },
  },
}

function envelope(kind: string, apiVersions: string[], spec: JsonSchema | undefined): JsonSchema {
  return {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata'],
    additionalProperties: false,
    properties: {
      apiVersion: { enum: apiVersions },
      kind: { const: kind },
      metadata: metadataSchema,
      spec: spec ?? { type: 'object' },
      status: {},
    },
  }
}

const durationPrecision: CelRule = {
  rule: 'duration is whole milliseconds',
  message: 'only durations to ms precision are supported',
  test(self) {
    const ms = typeof self === 'string' ? parseDurationMs(self) : undefined
    // Below 1 ms (or not a duration) the minimum rule already speaks; say one thing at a time.
    return ms === undefined || ms < 1 || Math.abs(ms - Math.round(ms)) < 1e-6
  },
}

function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    strict: true,
    strictTypes: false,
    strictRequired: false,
    allowUnionTypes: true,
    // Shared subschemas stay functions of their own (see shareSubschemas).
    inlineRefs: false,
  })
  ajv.addVocabulary([
    'x-kubernetes-int-or-string',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
  ])
  // Kubernetes' formats; Ajv knows none of them.
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  })
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) })
  ajv.addFormat('uint32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= 0 && n < 2 ** 32,
  })
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) })
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/)
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/)
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    schemaType: 'array',
    errors: true,
    compile(sources: CelRuleSource[]) {
      const rules = sources.map(compileCelRule)
      // Istio's Go validation adds a precision check to every duration the CRDs bound below.
      if (sources.some((s) => s.rule === DURATION_RULE)) rules.push(durationPrecision)
      const validate = (data: unknown): boolean => {
        const failed = rules.filter((r) => !r.test(data))
        ;(validate as { errors?: Partial<ErrorObject>[] }).errors = failed.map((r) => ({
          keyword: 'x-kubernetes-validations',
          message: r.message,
          params: { rule: r.rule },
        }))
        return failed.length === 0
      }
      return validate
    },
  })
  return ajv
}

const TYPE_NAMES: Record<string, string> = {
  object: 'an object',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
}

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number'
  if (typeof value === 'boolean') return typeof value
  return `a ${typeof value}`
}

function requiredNames(schema: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) requiredNames(s, into)
  else if (schema && typeof schema === 'object') {
    for (const [k, v] of Object.entries(schema)) {
      if (k === 'required' && Array.isArray(v)) for (const name of v) into.add(String(name))
      else if (k === 'oneOf' || k === 'anyOf' || k === 'not' || k === 'allOf') requiredNames(v, into)
    }
  }
  return into
}

function suggest(field: string, known: string[]): string {
  if (known.length === 0) return ''
  const best = closest(field, known)
  const limit = Math.max(2, Math.floor(field.length / 3))
  return distance(field, best) <= limit ? `; did you mean "${best}"?` : ''
}

function toIssue(error: ErrorObject): SchemaIssue | undefined {
  const path: PathSegment[] = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s))
  const schema = error.parentSchema as JsonSchema | undefined
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String((error.params as { additionalProperty: string }).additionalProperty)
      const known = Object.keys((schema?.properties as JsonSchema | undefined) ?? {})
      return {
        code: DiagnosticCode.unknownField,
        path: [...path, field],
        atKey: true,
        message: `unknown field "${field}"${suggest(field, known)}`,
      }
    }
    case 'required': {
      const field = String((error.params as { missingProperty: string }).missingProperty)
      return { code: DiagnosticCode.schema, path, atKey: false, message: `missing required field "${field}"` }
    }
    case 'type': {
      const want = String((error.params as { type: string }).type)
        .split(',')
        .map((t) => TYPE_NAMES[t] ?? t)
        .join(' or ')
      return {
        code: DiagnosticCode.schema,
        path,
        atKey: false,
        message: `must be ${want}, not ${typeOf(error.data)}`,
      }
    }
    case 'enum':
    case 'const': {
      const allowed = (error.params as { allowedValues?: unknown[]; allowedValue?: unknown })
        .allowedValues ?? [(error.params as { allowedValue?: unknown }).allowedValue]
      return {
        code: DiagnosticCode.schema,
        path,
        atKey: false,
        message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}; got ${JSON.stringify(error.data)}`,
      }
    }
    case 'oneOf': {
      const names = [...requiredNames(error.schema)]
      const data = (error.data ?? {}) as Record<string, unknown>
      const set = names.filter((n) => data[n] !== undefined)
      return {
        code: DiagnosticCode.schema,
        path,
        atKey: false,
        message:
          set.length > 1
            ? `only one of ${names.join(', ')} may be set; found ${set.join(' and ')}`
            : `must set exactly one of ${names.join(', ')}`,
      }
    }
    case 'anyOf':
      if (schema?.['x-kubernetes-int-or-string']) {
        return {
          code: DiagnosticCode.schema,
          path,
          atKey: false,
          message: `must be an integer or a string, not ${typeOf(error.data)}`,
        }
      }
      return {
        code: DiagnosticCode.schema,
        path,
        atKey: false,
        message: `must set one of ${[...requiredNames(error.schema)].join(', ')}`,
      }
    case 'format': {
      const format = String((error.params as { format: string }).format)
      const what: Record<string, string> = {
        int32: 'a 32-bit integer',
        int64: 'a 64-bit integer',
        uint32: 'an unsigned 32-bit integer',
        double: 'a finite number',
        byte: 'base64-encoded bytes',
        'date-time': 'an RFC 3339 date-time',
      }
      return { code: DiagnosticCode.schema, path, atKey: false, message: `must be ${what[format] ?? format}` }
    }
    case 'x-kubernetes-validations':
      return { code: DiagnosticCode.rule, path, atKey: false, message: error.message ?? 'invalid' }
    default:
      return { code: DiagnosticCode.schema, path, atKey: false, message: error.message ?? 'invalid' }
  }
}

/**
 * Checks a resource against its kind's schema: Istio's CRD schema with unknown fields refused
 * and its CEL rules evaluated, or Weft's own schema for Weft's kinds. One validator per kind,
 * compiled on first use.
 */
export class SchemaValidator {
  readonly #ajv = createAjv()
  readonly #validators = new Map<string, ValidateFunction>()

  /** `kind` and `apiVersion` must already be known to be served (see KINDS). */
  validate(kind: string, apiVersion: string, resource: unknown): SchemaIssue[] {
    const validator = this.#validatorFor(kind, apiVersion)
    if (!validator || validator(resource)) return []
    const errors = validator.errors ?? []
    // A failed oneOf/anyOf also reports each branch's failure; only the summary helps.
    const unions = errors
      .filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')
      .map((e) => `${e.schemaPath}/`)
    const issues: SchemaIssue[] = []
    const seen = new Set<string>()
    for (const error of errors) {
      if (unions.some((u) => error.schemaPath.startsWith(u))) continue
      const issue = toIssue(error)
      if (!issue) continue
      const key = `${issue.path.join('\u0000')}\u0001${issue.message}`
      if (seen.has(key)) continue
      seen.add(key)
      issues.push(issue)
    }
    // A value of the wrong type also fails the CEL rules about it: say it once.
    const typed = new Set(
      issues.filter((i) => i.code !== DiagnosticCode.rule).map((i) => i.path.join('\u0000')),
    )
    return issues.filter((i) => i.code !== DiagnosticCode.rule || !typed.has(i.path.join('\u0000')))
  }

  #validatorFor(kind: string, apiVersion: string): ValidateFunction | undefined {
    const key = `${kind} ${apiVersion}`
    let validator = this.#validators.get(key)
    if (validator) return validator
    const info = KINDS.get(kind)
    if (!info?.schema) return undefined
    const { apiVersions, spec } =
      kind === 'RateLimitPolicy'
        ? { apiVersions: apiVersionsOf(info), spec: rateLimitPolicySchema }
        : (((istioSchemas as Record<string, { apiVersions: string[]; spec: JsonSchema }[]>)[kind] ?? []).find(
            (e) => e.apiVersions.includes(apiVersion),
          ) ?? { apiVersions: [apiVersion], spec: undefined })
    validator = this.#ajv.compile(shareSubschemas(envelope(kind, apiVersions, spec)))
    // Versions that share one schema share its compiled validator.
    for (const v of apiVersions) this.#validators.set(`${kind} ${v}`, validator)
    return validator
  }
}
