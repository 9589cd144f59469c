import type { AuthorizationPolicy } from '@weft/config'
import { describe, expect, it } from 'vitest'
import { mulberry32 } from '../test-support/seeded-random.js'
import type { AuthorizationRequest } from './authorization-request.js'
import { compileRule } from './compile-rule.js'
import type { CompiledRule } from './compiled-rule.js'
import { RequestView } from './request-view.js'
import { RuleIndex } from './rule-index.js'

type Rule = NonNullable<AuthorizationPolicy['spec']['rules']>[number]

function compile(rules: Rule[]): CompiledRule[] {
  return rules.map((rule, ordinal) => {
    const policy = {
      key: `AuthorizationPolicy/foo/p${ordinal}`,
      namespace: 'foo',
      action: 'DENY' as const,
      dryRun: false,
    }
    return compileRule(policy, 0, ordinal, rule, () => {}) as CompiledRule
  })
}

function view(request: Partial<AuthorizationRequest>): RequestView {
  const v = new RequestView()
  v.reset({
    method: 'GET',
    path: '/',
    headers: {},
    source: {},
    destination: { port: 80 },
    ...request,
  })
  return v
}

const paths = (...p: string[]): Rule => ({ to: [{ operation: { paths: p } }] })

const cases: {
  name: string
  rules: Rule[]
  request: Partial<AuthorizationRequest>
  first: number | undefined
  all: number[]
}[] = [
  {
    name: 'Weft index: an exact path finds its rule',
    rules: [paths('/a'), paths('/b')],
    request: { path: '/b' },
    first: 1,
    all: [1],
  },
  {
    name: 'Weft index: nested prefixes all find their rules',
    rules: [paths('/api/v1/*'), paths('/api/*'), paths('/ap*')],
    request: { path: '/api/v1/items' },
    first: 0,
    all: [0, 1, 2],
  },
  {
    name: 'Weft index: a prefix longer than the path is not probed',
    rules: [paths('/api/v1/items/*')],
    request: { path: '/api' },
    first: undefined,
    all: [],
  },
  {
    name: 'Weft index: suffixes are found from the end',
    rules: [paths('*.png'), paths('*.jpg')],
    request: { path: '/logo.jpg' },
    first: 1,
    all: [1],
  },
  {
    name: 'Weft index: a rule not indexable is a candidate for every request, in order',
    rules: [{ to: [{ operation: { methods: ['GET'] } }] }, paths('/a')],
    request: { path: '/a' },
    first: 0,
    all: [0, 1],
  },
  {
    name: 'Weft index: a lower ordinal wins across lists',
    rules: [paths('/a*'), { to: [{ operation: { methods: ['GET'] } }] }, paths('/a')],
    request: { path: '/a' },
    first: 0,
    all: [0, 1, 2],
  },
  {
    name: 'Weft index: a rule whose to entries do not all list paths is not indexed by path',
    rules: [{ to: [{ operation: { paths: ['/x'] } }, { operation: { methods: ['GET'] } }] }],
    request: { path: '/y' },
    first: 0,
    all: [0],
  },
  {
    name: 'Weft index: hosts are indexed lower-cased',
    rules: [
      { to: [{ operation: { hosts: ['API.example.com'] } }] },
      { to: [{ operation: { hosts: ['*.example.com'] } }] },
    ],
    request: { host: 'api.EXAMPLE.com' },
    first: 0,
    all: [0, 1],
  },
  {
    name: 'Weft index: principals are indexed',
    rules: [
      { from: [{ source: { principals: ['td/ns/a/sa/x'] } }] },
      { from: [{ source: { principals: ['td/ns/b/*'] } }] },
    ],
    request: { source: { principal: 'td/ns/b/sa/y' } },
    first: 1,
    all: [1],
  },
  {
    name: 'Weft index: a path template is indexed by its literal prefix',
    rules: [paths('/t/{*}/x'), paths('/u/{*}')],
    request: { path: '/t/1/x' },
    first: 0,
    all: [0],
  },
  {
    name: 'Weft index: a rule listed twice for one path is found once',
    rules: [paths('/a', '/a*', '*a')],
    request: { path: '/a' },
    first: 0,
    all: [0],
  },
  {
    name: 'Weft index: notPaths does not index a rule',
    rules: [{ to: [{ operation: { notPaths: ['/a'] } }] }],
    request: { path: '/b' },
    first: 0,
    all: [0],
  },
]

describe('RuleIndex', () => {
  it.each(cases)('$name', ({ rules, request, first, all }) => {
    const compiled = compile(rules)
    const index = new RuleIndex(compiled)
    const v = view(request)
    expect(index.first(v)?.ordinal).toBe(first)
    expect(index.all(v).map((r) => r.ordinal)).toEqual(all)
  })

  it('Weft index: gives the same answers as evaluating every rule in order', () => {
    const random = mulberry32(7)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const segments = ['a', 'b', 'api', 'v1', 'items', 'x.png', 'y.jpg']
    const path = () => `/${pick(segments)}/${pick(segments)}`
    const hosts = ['a.example.com', 'B.example.com', 'c.test']
    const principals = ['td/ns/a/sa/x', 'td/ns/b/sa/y', 'other/ns/a/sa/x']
    const makers: (() => Rule)[] = [
      () => paths(path()),
      () => paths(`/${pick(segments)}*`, `*${pick(segments)}`),
      () => paths(`/${pick(segments)}/{*}`),
      () => ({ to: [{ operation: { hosts: [pick(hosts), `*.${pick(['example.com', 'test'])}`] } }] }),
      () => ({ from: [{ source: { principals: [pick(principals), `td/ns/${pick(['a', 'b'])}/*`] } }] }),
      () => ({ to: [{ operation: { methods: [pick(['GET', 'POST'])] } }] }),
      () => ({
        to: [{ operation: { paths: [path()], methods: ['GET'] } }, { operation: { hosts: [pick(hosts)] } }],
      }),
    ]
    const compiled = compile(Array.from({ length: 300 }, () => pick(makers)()))
    const index = new RuleIndex(compiled)
    for (let i = 0; i < 2000; i++) {
      const v = view({
        method: pick(['GET', 'POST']),
        path: path(),
        host: pick(hosts).toUpperCase(),
        source: { principal: pick(principals) },
      })
      const expected = compiled.filter((rule) => rule.matches(v))
      expect(index.first(v)).toBe(expected[0])
      expect(index.all(v)).toEqual(expected)
    }
  })
})
