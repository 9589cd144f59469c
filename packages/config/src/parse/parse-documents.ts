import { CORE_SCHEMA, loadAll } from 'js-yaml'
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml'
import { DiagnosticCode } from '../errors.js'
import type { Diagnostic, PathSegment } from '../model/diagnostic.js'

export interface SourceText {
  /** Shown in diagnostics; a path, `<stdin>`, or an API request's name. */
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

// Anchors and aliases: only the positional parser bounds how far aliases may expand.
const ANCHOR_OR_ALIAS = /(?:^|[\s[{,:-])[&*][^\s,\]}]/

/**
 * Reads multi-document YAML or JSON (JSON is YAML 1.2), with YAML 1.2's core schema. A
 * document may be one resource, an array of resources, or a Kubernetes `List`; empty documents
 * are skipped. Syntax errors are reported with their position, and a file with any is read no
 * further: half a file is never handed on.
 *
 * Values come from js-yaml, which is an order of magnitude faster; the `yaml` parser, which
 * keeps every node's position, reads a file only when a diagnostic needs a place in it, or when
 * js-yaml refuses the file (so that the error is reported with its position).
 */
export function parseDocuments(source: SourceText): ParseResult {
  if (!ANCHOR_OR_ALIAS.test(source.text)) {
    let values: unknown[] | undefined
    try {
      values = loadAll(source.text, null, { schema: CORE_SCHEMA, filename: source.file })
    } catch {
      values = undefined
    }
    if (values) {
      let positions: Positions | undefined
      const positionsOf = () => {
        positions ??= readPositions(source.text)
        return positions
      }
      return {
        documents: split(values, source.file, (index) => positionsOf().locator(index)),
        diagnostics: [],
      }
    }
  }
  const positions = readPositions(source.text)
  if (positions.diagnostics.length > 0) {
    return { documents: [], diagnostics: positions.diagnostics.map((d) => ({ ...d, file: source.file })) }
  }
  const values: unknown[] = []
  for (const doc of positions.docs) {
    try {
      values.push(doc.contents === null ? null : doc.toJS({ maxAliasCount: 100 }))
    } catch (e) {
      // The only throw left is the alias-expansion limit: a document built to exhaust memory.
      const at = positions.position(doc.contents?.range?.[0] ?? 0)
      const message = `${(e as Error).message}; refusing the file`
      return {
        documents: [],
        diagnostics: [
          { severity: 'error', code: DiagnosticCode.yaml, message, field: '', file: source.file, ...at },
        ],
      }
    }
  }
  return { documents: split(values, source.file, (index) => positions.locator(index)), diagnostics: [] }
}

type Locate = (path: readonly PathSegment[], key: boolean) => Position | undefined

function split(
  values: readonly unknown[],
  file: string,
  locatorFor: (index: number) => Locate,
): SourceDocument[] {
  const documents: SourceDocument[] = []
  values.forEach((value, index) => {
    if (value === null || value === undefined) return
    const at = (prefix: PathSegment[], v: unknown): SourceDocument => ({
      value: v,
      file,
      locate: (path, key) => locatorFor(index)([...prefix, ...path], key ?? false),
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
  })
  return documents
}

interface Positions {
  readonly docs: Document.Parsed[]
  readonly diagnostics: Omit<Diagnostic, 'file'>[]
  position(offset: number): Position
  locator(index: number): Locate
}

function readPositions(text: string): Positions {
  const lineCounter = new LineCounter()
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const docs = Array.isArray(parsed) ? parsed : []
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset)
    return { line, column: col }
  }
  const diagnostics = docs.flatMap((doc) =>
    doc.errors.map((error) => ({
      severity: 'error' as const,
      code: DiagnosticCode.yaml,
      message: error.message.split('\n')[0] ?? 'invalid YAML',
      field: '',
      ...position(error.pos[0]),
    })),
  )
  return {
    docs,
    diagnostics,
    position,
    locator: (index) => (path, key) => {
      const root = docs[index]?.contents
      if (!root) return undefined
      const offset = find(root, path, key)
      return offset === undefined ? undefined : position(offset)
    },
  }
}

function isKubernetesList(value: unknown): value is { items: unknown[] } {
  const v = value as { kind?: unknown; items?: unknown } | null
  return typeof v === 'object' && v !== null && v.kind === 'List' && Array.isArray(v.items)
}

/** Offset of the node at `path`, or of its deepest existing ancestor. */
function find(root: Node, path: readonly PathSegment[], key: boolean): number | undefined {
  let node: unknown = root
  let offset = root.range?.[0]
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
