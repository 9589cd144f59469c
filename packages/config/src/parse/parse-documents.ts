import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml'
import { DiagnosticCode } from '../errors.js'
import type { Diagnostic, PathSegment } from '../model/diagnostic.js'

export interface SourceText {
  /** Shown in diagnostics; a path, `-` for stdin, or an API request's name. */
  readonly file: string
  readonly text: string
}

export interface Position {
  readonly line: number
  readonly column: number
}

/** One resource read from a source, with the means to find any of its fields in the text. */
export interface SourceDocument {
  readonly value: unknown
  readonly file?: string
  /** Where `path` (or, with `key`, its last key) stands in the source; the nearest ancestor when absent. */
  locate(path: readonly PathSegment[], key?: boolean): Position | undefined
}

/** A document built in code or received as JSON over the API: no positions. */
export function objectDocument(value: unknown, file?: string): SourceDocument {
  return { value, ...(file === undefined ? {} : { file }), locate: () => undefined }
}

export interface ParseResult {
  readonly documents: SourceDocument[]
  readonly diagnostics: Diagnostic[]
}

/**
 * Reads multi-document YAML or JSON (JSON is YAML 1.2). A document may be one resource, an
 * array of resources, or a Kubernetes `List`; empty documents are skipped. Syntax errors are
 * reported with their position, and a file with any is read no further: half a file is never
 * handed on.
 */
export function parseDocuments(source: SourceText): ParseResult {
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const diagnostics: Diagnostic[] = []
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset)
    return { line, column: col }
  }
  const list = Array.isArray(docs) ? docs : []
  for (const doc of list) {
    for (const error of doc.errors) {
      const at = position(error.pos[0])
      diagnostics.push({
        severity: 'error',
        code: DiagnosticCode.yaml,
        message: error.message.split('\n')[0] ?? 'invalid YAML',
        field: '',
        file: source.file,
        line: at.line,
        column: at.column,
      })
    }
  }
  if (diagnostics.length > 0) return { documents: [], diagnostics }

  const documents: SourceDocument[] = []
  for (const doc of list) {
    const root = doc.contents
    let value: unknown
    try {
      value = root === null ? null : doc.toJS({ maxAliasCount: 100 })
    } catch (e) {
      // The only throw left is the alias-expansion limit: a document built to exhaust memory.
      const at = position(root?.range?.[0] ?? 0)
      const message = `${(e as Error).message}; refusing the file`
      const diagnostic = {
        severity: 'error' as const,
        code: DiagnosticCode.yaml,
        message,
        field: '',
        file: source.file,
        ...at,
      }
      return { documents: [], diagnostics: [diagnostic] }
    }
    if (root === null || value === null || value === undefined) continue
    const at = (prefix: PathSegment[], v: unknown): SourceDocument => ({
      value: v,
      file: source.file,
      locate(path, key) {
        const found = find(root, [...prefix, ...path], key ?? false)
        return found === undefined ? undefined : position(found)
      },
    })
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        documents.push(at([i], item))
      })
    } else if (isKubernetesList(value)) {
      value.items.forEach((item, i) => {
        documents.push(at(['items', i], item))
      })
    } else {
      documents.push(at([], value))
    }
  }
  return { documents, diagnostics }
}

function isKubernetesList(value: unknown): value is { items: unknown[] } {
  const v = value as { kind?: unknown; items?: unknown } | null
  return typeof v === 'object' && v !== null && v.kind === 'List' && Array.isArray(v.items)
}

/** Offset of the node at `path`, or of its deepest existing ancestor. */
function find(root: Node, path: readonly PathSegment[], key: boolean): number | undefined {
  let node: unknown = root
  let offset = (root as Node).range?.[0]
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]
    const last = i === path.length - 1
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => (isScalar(p.key) ? String(p.key.value) : undefined) === String(segment),
      )
      if (!pair) return offset
      const keyNode = pair.key as Node
      if (last && key) return keyNode.range?.[0] ?? offset
      node = pair.value
      offset = (pair.value as Node | null)?.range?.[0] ?? keyNode.range?.[0] ?? offset
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined
      if (!item) return offset
      node = item
      offset = item.range?.[0] ?? offset
    } else {
      return offset
    }
  }
  return offset
}
