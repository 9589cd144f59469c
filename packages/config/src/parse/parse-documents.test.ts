import { describe, expect, it } from 'vitest'
import { parseDocuments } from './parse-documents.js'

describe('parseDocuments', () => {
  it('reads every document of a multi-document YAML file and skips empty ones', () => {
    const text = '---\n# a comment only\n---\nkind: A\n---\nkind: B\n---\n'
    const { documents, diagnostics } = parseDocuments({ file: 'm.yaml', text })
    expect(diagnostics).toEqual([])
    expect(documents.map((d) => d.value)).toEqual([{ kind: 'A' }, { kind: 'B' }])
  })

  it('reads JSON, with positions', () => {
    const text = '{\n  "kind": "VirtualService",\n  "spec": {"hosts": ["a"]}\n}\n'
    const [doc] = parseDocuments({ file: 'r.json', text }).documents
    expect(doc?.value).toEqual({ kind: 'VirtualService', spec: { hosts: ['a'] } })
    expect(doc?.locate(['spec', 'hosts', 0])).toEqual({ line: 3, column: 22 })
  })

  it('reads a Kubernetes List and a top-level array as their items, positions included', () => {
    const list = 'kind: List\nitems:\n- kind: A\n- kind: B\n  spec: {x: 1}\n'
    const fromList = parseDocuments({ file: 'l.yaml', text: list }).documents
    expect(fromList.map((d) => d.value)).toEqual([{ kind: 'A' }, { kind: 'B', spec: { x: 1 } }])
    expect(fromList[1]?.locate(['spec', 'x'])).toEqual({ line: 5, column: 13 })
    const fromArray = parseDocuments({ file: 'a.json', text: '[{"kind":"A"},{"kind":"B"}]' }).documents
    expect(fromArray.map((d) => d.value)).toEqual([{ kind: 'A' }, { kind: 'B' }])
  })

  it('locates a key when asked for the key, the value otherwise, and the nearest ancestor for a missing path', () => {
    const text = 'spec:\n  http:\n  - timeout: 5s\n'
    const [doc] = parseDocuments({ file: 'k.yaml', text }).documents
    expect(doc?.locate(['spec', 'http', 0, 'timeout'], true)).toEqual({ line: 3, column: 5 })
    expect(doc?.locate(['spec', 'http', 0, 'timeout'])).toEqual({ line: 3, column: 14 })
    expect(doc?.locate(['spec', 'http', 0, 'retries', 'attempts'])).toEqual({ line: 3, column: 5 })
  })

  it('refuses a whole file with a syntax error, naming the line and column, and hands on nothing of it', () => {
    const text = 'kind: A\n---\nkind: B\n  bad: indentation\n'
    const { documents, diagnostics } = parseDocuments({ file: 'bad.yaml', text })
    expect(documents).toEqual([])
    expect(diagnostics[0]).toMatchObject({
      code: 'WEFT_CONFIG_YAML',
      file: 'bad.yaml',
      line: 3,
      column: 7,
      severity: 'error',
    })
  })

  it('refuses alias bombs instead of expanding them', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for (let i = 1; i < 12; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      )
    const { documents, diagnostics } = parseDocuments({ file: 'bomb.yaml', text: `${lines.join('\n')}\n` })
    expect(documents).toEqual([])
    expect(diagnostics).toMatchObject([
      { code: 'WEFT_CONFIG_YAML', message: expect.stringMatching(/alias/i) },
    ])
  })
})
