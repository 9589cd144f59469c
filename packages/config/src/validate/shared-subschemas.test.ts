import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import istioSchemas from '../generated/istio-schemas.json' with { type: 'json' }
import { shareSubschemas } from './shared-subschemas.js'

type JsonSchema = Record<string, unknown>

/** Puts every `$ref` to `definitions` back in place: what Ajv would validate if it inlined them. */
function inline(node: unknown, definitions: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((n) => inline(n, definitions))
  if (node === null || typeof node !== 'object') return node
  const ref = (node as { $ref?: string }).$ref
  if (ref !== undefined) return inline(definitions[ref.replace('#/definitions/', '')], definitions)
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inline(v, definitions)]))
}

function refsUnder(node: unknown, inUnion = false, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refsUnder(n, inUnion, found)
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && inUnion) found.push(String(v))
      refsUnder(v, inUnion || ['oneOf', 'anyOf', 'allOf', 'not'].includes(k), found)
    }
  }
  return found
}

const specs = Object.entries(istioSchemas as Record<string, { spec: JsonSchema }[]>).map(
  ([kind, [entry]]) => [kind, entry?.spec as JsonSchema] as const,
)

describe('shareSubschemas', () => {
  for (const [kind, spec] of specs) {
    it(`${kind}: the same schema once its definitions are put back, none of them inside a union`, () => {
      const root = { type: 'object', properties: { spec } }
      const shared = shareSubschemas(root)
      const { definitions = {}, ...rest } = shared as { definitions?: Record<string, unknown> }
      expect(isDeepStrictEqual(inline(rest, definitions), root)).toBe(true)
      expect(refsUnder(shared)).toEqual([])
    })
  }

  it('shares a repeated subschema, gives a large one a function of its own, and leaves small ones inline', () => {
    const match = {
      type: 'object',
      properties: { exact: { type: 'string' }, prefix: { type: 'string' } },
      oneOf: [{ required: ['exact'] }, { required: ['prefix'] }],
    }
    const large = { type: 'object', description: 'x'.repeat(2_000) }
    const shared = shareSubschemas({
      type: 'object',
      properties: { uri: match, scheme: { ...match }, big: large, port: { type: 'integer' } },
    })
    expect(shared).toEqual({
      type: 'object',
      properties: {
        uri: { $ref: '#/definitions/s0' },
        scheme: { $ref: '#/definitions/s0' },
        big: { $ref: '#/definitions/s1' },
        port: { type: 'integer' },
      },
      definitions: { s0: match, s1: large },
    })
  })

  it('answers a schema with nothing to share as it was', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } }
    expect(shareSubschemas(schema)).toEqual(schema)
  })
})
