import { closest, distance } from 'fastest-levenshtein'
import { DiagnosticCode } from '../errors.js'
import type { Diagnostic, PathSegment, Severity } from '../model/diagnostic.js'
import { formatPath, hasErrors } from '../model/diagnostic.js'
import { apiVersionsOf, KINDS } from '../model/kinds.js'
import { type Resource, resourceKey } from '../model/resource.js'
import type { SourceDocument } from '../parse/parse-documents.js'
import { RuleContext } from './rules/rule-context.js'
import { semanticRules } from './rules/semantic-rules.js'
import { SchemaValidator } from './schema-validator.js'

export interface ValidateOptions {
  /** Namespace of resources that name none. Default `default`, as kubectl's. */
  readonly defaultNamespace?: string
}

export interface ValidationResult {
  /** The resources that passed, namespace filled in; none of a document that failed. */
  readonly resources: Resource[]
  /** `sources[i]` is where `resources[i]` came from. */
  readonly sources: SourceDocument[]
  readonly diagnostics: Diagnostic[]
}

// Istio kinds that configure Envoy or Istio's own components: nothing in-process to apply.
const ENVOY_ONLY = new Set(['EnvoyFilter', 'WasmPlugin', 'ProxyConfig', 'TrafficExtension'])

let sharedValidator: SchemaValidator | undefined

/**
 * Validates documents one by one (schema, then Istio's semantic rules) and then across
 * documents (no two resources with one name). Returns every diagnostic; never throws.
 */
export function validateDocuments(
  documents: readonly SourceDocument[],
  options: ValidateOptions = {},
): ValidationResult {
  sharedValidator ??= new SchemaValidator()
  const schema = sharedValidator
  const defaultNamespace = options.defaultNamespace ?? 'default'
  const resources: Resource[] = []
  const sources: SourceDocument[] = []
  const diagnostics: Diagnostic[] = []
  const firstSeen = new Map<string, SourceDocument>()

  // Indexed loops and no spreads into calls: an SDK validates every resource a change brings, and
  // iterator loops made this function's optimised graph large (TurboFan time, `--trace-opt`).
  for (let d = 0; d < documents.length; d++) {
    const doc = documents[d] as SourceDocument
    const found: Diagnostic[] = []
    const report = (
      severity: Severity,
      code: string,
      path: PathSegment[],
      message: string,
      atKey = false,
      resource?: string,
    ) => {
      const at = doc.locate(path, atKey)
      found.push({
        severity,
        code,
        message,
        field: formatPath(path),
        ...(resource === undefined ? {} : { resource }),
        ...(doc.file === undefined ? {} : { file: doc.file }),
        ...(at ? { line: at.line, column: at.column } : {}),
      })
    }
    const value = doc.value as Record<string, unknown> | null
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      report(
        'error',
        DiagnosticCode.document,
        [],
        'a document must be a resource: an object with apiVersion, kind, metadata and spec',
      )
      pushAll(diagnostics, found)
      continue
    }
    const meta = value.metadata as Record<string, unknown> | undefined
    const name = typeof meta?.name === 'string' ? meta.name : '?'
    const namespace =
      typeof meta?.namespace === 'string' && meta.namespace ? meta.namespace : defaultNamespace
    const kind = value.kind
    const label = `${typeof kind === 'string' ? kind : '?'}/${namespace}/${name}`
    const info = typeof kind === 'string' ? KINDS.get(kind) : undefined

    if (typeof kind !== 'string' || kind.length === 0) {
      report(
        'error',
        DiagnosticCode.document,
        ['kind'],
        'missing "kind": every document must name its kind',
        false,
        label,
      )
    } else if (!info) {
      const known = [...KINDS.keys()]
      const best = closest(kind, known)
      const hint = ENVOY_ONLY.has(kind)
        ? `; ${kind} configures Envoy, which Weft does not run`
        : distance(kind, best) <= 2
          ? `; did you mean "${best}"?`
          : `; Weft reads ${known.join(', ')}`
      report('error', DiagnosticCode.unknownKind, ['kind'], `unknown kind "${kind}"${hint}`, false, label)
    } else if (!apiVersionsOf(info).includes(String(value.apiVersion))) {
      report(
        'error',
        DiagnosticCode.document,
        ['apiVersion'],
        `apiVersion ${JSON.stringify(value.apiVersion ?? null)} does not serve ${kind}; use ${apiVersionsOf(info).join(' or ')}`,
        false,
        label,
      )
    } else if (!info.schema) {
      if (typeof meta?.name !== 'string' || meta.name.length === 0) {
        report('error', DiagnosticCode.schema, ['metadata'], 'missing required field "name"', false, label)
      }
    } else {
      // A resource without a spec has an empty one (see below), and is held to what that must hold.
      const checked = value.spec === undefined ? { ...value, spec: {} } : value
      const issues = schema.validate(kind, String(value.apiVersion), checked)
      for (let i = 0; i < issues.length; i++) {
        const issue = issues[i] as (typeof issues)[number]
        report('error', issue.code, issue.path, issue.message, issue.atKey, label)
      }
      const rules = semanticRules[kind]
      if (found.length === 0 && rules) {
        const ctx = new RuleContext()
        rules(value.spec ?? {}, ctx, value as unknown as Resource)
        for (let i = 0; i < ctx.issues.length; i++) {
          const issue = ctx.issues[i] as (typeof ctx.issues)[number]
          report(
            issue.severity,
            DiagnosticCode.semantic,
            issue.rooted ? issue.path : ['spec', ...issue.path],
            issue.message,
            false,
            label,
          )
        }
      }
    }

    pushAll(diagnostics, found)
    if (hasErrors(found)) continue
    const resource = {
      ...value,
      metadata: { ...(meta as object), namespace },
      spec: value.spec ?? {},
    } as unknown as Resource
    const key = resourceKey(resource)
    const earlier = firstSeen.get(key)
    if (earlier) {
      const at = earlier.locate([])
      const where = at ? ` (first at ${earlier.file ?? ''}:${at.line}:${at.column})` : ''
      report(
        'error',
        DiagnosticCode.duplicate,
        ['metadata', 'name'],
        `${key} is defined twice${where}`,
        false,
        label,
      )
      diagnostics.push(...found.filter((d) => d.code === DiagnosticCode.duplicate))
      continue
    }
    firstSeen.set(key, doc)
    resources.push(resource)
    sources.push(doc)
  }
  return { resources, sources, diagnostics }
}

function pushAll(to: Diagnostic[], from: readonly Diagnostic[]): void {
  for (let i = 0; i < from.length; i++) to.push(from[i] as Diagnostic)
}
