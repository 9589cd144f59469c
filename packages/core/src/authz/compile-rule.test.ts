import type { AuthorizationPolicy } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { compileRule } from './compile-rule.js'
import type { PolicyRef } from './compiled-rule.js'

type Rule = NonNullable<AuthorizationPolicy['spec']['rules']>[number]

function compile(rule: Rule | null, action: PolicyRef['action'] = 'DENY') {
  const notes: string[] = []
  const policy: PolicyRef = { key: 'AuthorizationPolicy/foo/p', namespace: 'foo', action, dryRun: false }
  const compiled = compileRule(policy, 2, 0, rule, (n) => notes.push(n))
  return { compiled, notes, text: compiled === undefined ? undefined : String(compiled) }
}

describe('compileRule', () => {
  it.each([
    ['request.auth.claims[a][b]', 'request.auth.claims[a][b] any of [request.auth.claims[a][b] exact "x"]'],
    ['request.auth.claims[a.b]', 'request.auth.claims[a.b] any of [request.auth.claims[a.b] exact "x"]'],
    ['request.headers[X-Foo]', 'request.headers[X-Foo] any of [header x-foo exact "x"]'],
  ])('Istio: when key %s compiles', (key, expected) => {
    expect(compile({ when: [{ key, values: ['x'] }] }).text).toBe(
      `DENY AuthorizationPolicy/foo/p rules[2]: when ${expected}`,
    )
  })

  it.each([
    ['request.auth.claims', 'Istio: claims need a [name]'],
    ['request.auth.claims[]', 'Istio: an empty claim name'],
    ['request.auth.claims[a]b', 'Istio: text after the brackets'],
    ['request.headers[]', 'Istio: an empty header name'],
    ['destination.labels[app]', 'Istio: replaced by the workload selector'],
    ['experimental.envoy.filters.http.foo[bar]', 'Weft: no Envoy filter metadata'],
  ])('when key %s cannot be evaluated (%s)', (key) => {
    const allow = compile({ when: [{ key, values: ['x'] }] }, 'ALLOW')
    expect(allow.compiled).toBeUndefined()
    expect(allow.notes[0]).toMatch(/cannot be evaluated .*; the ALLOW rule matches nothing$/)
    const deny = compile({ when: [{ key, values: ['x'] }] })
    expect(deny.text).toBe('DENY AuthorizationPolicy/foo/p rules[2]: any request')
    expect(deny.notes[0]).toMatch(/; it counts as matching$/)
  })

  it('Istio: a nil rule is skipped, with a note', () => {
    const { compiled, notes } = compile(null)
    expect(compiled).toBeUndefined()
    expect(notes).toEqual([
      'AuthorizationPolicy/foo/p rules[2]: not a rule; it never matches, as Istio skips a nil rule',
    ])
  })

  it('Istio: a source without fields, an operation without fields, match anything', () => {
    expect(compile({ from: [{ source: {} }], to: [{}] }).text).toBe(
      'DENY AuthorizationPolicy/foo/p rules[2]: to any; from any',
    )
  })

  it('Istio: a when condition with neither values nor notValues adds nothing', () => {
    expect(compile({ when: [{ key: 'source.ip' }] }).text).toBe(
      'DENY AuthorizationPolicy/foo/p rules[2]: any request',
    )
  })

  it('Weft: a note names the rule, the field, the value and the reason', () => {
    expect(compile({ to: [{ operation: { ports: ['http'] } }] }, 'ALLOW').notes).toEqual([
      'AuthorizationPolicy/foo/p rules[2]: to[0].operation.ports "http" cannot be evaluated (not a port); the ALLOW rule matches nothing',
    ])
  })

  it('Weft: rules are described from, to and when, alternatives in parentheses', () => {
    const { text } = compile({
      from: [{ source: { namespaces: ['a'] } }, { source: { notIpBlocks: ['10.0.0.0/8'] } }],
      to: [{ operation: { methods: ['GET'], hosts: ['*.example.com'] } }],
    })
    expect(text).toBe(
      'DENY AuthorizationPolicy/foo/p rules[2]: to methods any of [method exact "GET"] and hosts any of [host suffix ".example.com" (ignoring case)]; ' +
        'from (namespaces any of [namespace "a"]) or (ipBlocks none of [source.ip in 10.0.0.0/8])',
    )
  })

  it('Weft: an index key comes from paths first, then hosts, then principals', () => {
    const by = (rule: Rule) => compile(rule).compiled?.indexBy
    expect(by({ to: [{ operation: { paths: ['/a'], hosts: ['h'] } }] })?.attribute).toBe('path')
    expect(
      by({ to: [{ operation: { hosts: ['h'] } }], from: [{ source: { principals: ['p'] } }] })?.attribute,
    ).toBe('host')
    expect(by({ from: [{ source: { principals: ['p', 'q*'] } }] })).toEqual({
      attribute: 'principal',
      patterns: [
        { kind: 'exact', value: 'p' },
        { kind: 'prefix', value: 'q' },
      ],
    })
    expect(by({ to: [{ operation: { paths: ['*'] } }] })).toBeUndefined()
  })
})
