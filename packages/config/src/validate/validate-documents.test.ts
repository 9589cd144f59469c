import { describe, expect, it } from 'vitest'
import { formatDiagnostic } from '../model/diagnostic.js'
import { apiVersionsOf, KINDS } from '../model/kinds.js'
import { parseDocuments } from '../parse/parse-documents.js'
import { istioFiles } from '../test-support/istio-fixtures.js'
import { validateDocuments } from './validate-documents.js'

describe("Istio's own files validate with no error", () => {
  for (const subdir of ['bookinfo', 'validation-dataset']) {
    for (const source of istioFiles(subdir)) {
      it(`${subdir}/${source.file.split('/').pop()}`, () => {
        const parsed = parseDocuments(source)
        const result = validateDocuments(parsed.documents)
        const errors = [...parsed.diagnostics, ...result.diagnostics].filter((d) => d.severity === 'error')
        expect(errors.map(formatDiagnostic)).toEqual([])
        expect(result.resources.length).toBe(parsed.documents.length)
        expect(result.resources.length).toBeGreaterThan(0)
      })
    }
  }
})

describe('valid edge cases Istio accepts', () => {
  it("a path template with literals after {**} (Istio's own /store/{**}/cart)", () => {
    const text =
      'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: store}\nspec:\n  rules:\n  - to:\n    - operation:\n        paths: ["/store/{**}/cart"]\n'
    const parsed = parseDocuments({ file: 'ap.yaml', text })
    expect(validateDocuments(parsed.documents).diagnostics).toEqual([])
  })

  it('a route that sets the Host of the request (only the response may not)', () => {
    const text =
      'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [r]\n  http:\n  - headers: {request: {set: {host: r.example, ":authority": r.example}}}\n    route:\n    - destination: {host: r}\n'
    const parsed = parseDocuments({ file: 'vs.yaml', text })
    expect(validateDocuments(parsed.documents).diagnostics).toEqual([])
  })
})

describe('a resource without a spec', () => {
  // It is stored with an empty spec, so it must hold what an empty spec must: a ServiceEntry
  // with no spec once reached the semantic rules unchecked and threw instead of answering.
  for (const [kind, info] of KINDS) {
    it(`${kind}: the diagnostics of an empty spec, and no exception`, () => {
      const head = `apiVersion: ${apiVersionsOf(info)[0]}\nkind: ${kind}\nmetadata: {name: a}\n`
      const messages = (text: string) =>
        validateDocuments(parseDocuments({ file: 'x.yaml', text }).documents).diagnostics.map(
          (d) => `${d.severity} ${d.field}: ${d.message}`,
        )
      expect(messages(head)).toEqual(messages(`${head}spec: {}\n`))
    })
  }
})
