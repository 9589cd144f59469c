import { describe, expect, it } from 'vitest'
import { loadConfig } from '../load-config.js'
import { istioFiles } from '../test-support/istio-fixtures.js'

const bookinfo = Object.fromEntries(istioFiles('bookinfo').map((s) => [s.file.split('/').pop() as string, s]))
const pick = (...names: string[]) => names.map((n) => bookinfo[n] as { file: string; text: string })

function findings(texts: { file: string; text: string }[]) {
  return loadConfig(texts, { analyze: true }).diagnostics.map((d) => ({
    code: d.code,
    resource: d.resource,
    field: d.field,
    line: d.line,
    message: d.message,
  }))
}

const vs = (name: string, body: string) =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: ${name}\nspec:\n${body}`

describe('analyze', () => {
  it("Istio's Bookinfo services, rules and subsets together: nothing to report but what Weft does not enforce", () => {
    const all = findings(
      pick(
        'bookinfo.yaml',
        'destination-rule-all.yaml',
        'virtual-service-reviews-80-20.yaml',
        'bookinfo-gateway.yaml',
      ),
    )
    expect(all.map((f) => f.code).sort()).toEqual(['WFT0201', 'WFT0202'])
  })

  const cases: {
    name: string
    texts: { file: string; text: string }[]
    expect: { code: string; field?: string; line?: number; message?: string }[]
  }[] = [
    {
      name: 'WFT0101: a VirtualService routes to a subset no DestinationRule defines (Istio IST0101)',
      texts: pick('destination-rule-reviews.yaml', 'virtual-service-reviews-80-20.yaml'),
      expect: [],
    },
    {
      name: 'WFT0101: v4 is not among the subsets of destination-rule-reviews.yaml',
      texts: [
        ...pick('destination-rule-reviews.yaml'),
        {
          file: 'v4.yaml',
          text: vs(
            'reviews',
            '  hosts: [reviews]\n  http:\n  - route:\n    - destination:\n        host: reviews\n        subset: v4\n',
          ),
        },
      ],
      expect: [
        {
          code: 'WFT0101',
          field: 'spec.http[0].route[0].destination.subset',
          line: 11,
          message: 'subset "v4" is not defined by DestinationRule/default/reviews, which defines v1, v2, v3',
        },
      ],
    },
    {
      name: 'WFT0101: no DestinationRule at all for the host',
      texts: pick('virtual-service-reviews-v3.yaml'),
      expect: [{ code: 'WFT0101', message: 'no DestinationRule for that host' }],
    },
    {
      name: 'WFT0102: a destination host that is neither a known service nor a ServiceEntry',
      texts: [
        ...pick('bookinfo.yaml'),
        {
          file: 'vs.yaml',
          text: vs(
            'reviews',
            '  hosts: [reviews]\n  http:\n  - route:\n    - destination:\n        host: reveiws\n',
          ),
        },
      ],
      expect: [
        {
          code: 'WFT0102',
          field: 'spec.http[0].route[0].destination.host',
          line: 10,
          message: 'host "reveiws"',
        },
      ],
    },
    {
      name: 'WFT0109: two VirtualServices for one host (Istio IST0109)',
      texts: [
        {
          file: 'a.yaml',
          text: vs(
            'one',
            '  hosts: [ratings]\n  http:\n  - route:\n    - destination:\n        host: ratings\n',
          ),
        },
        {
          file: 'b.yaml',
          text: vs(
            'two',
            '  hosts: [ratings.default.svc.cluster.local]\n  http:\n  - route:\n    - destination:\n        host: ratings\n',
          ),
        },
      ],
      expect: [
        {
          code: 'WFT0109',
          field: 'spec.hosts[0]',
          line: 6,
          message: 'also routed by VirtualService/default/one',
        },
      ],
    },
    {
      name: 'WFT0131: a catch-all rule shadows the rules after it (Istio IST0131)',
      texts: [
        {
          file: 'c.yaml',
          text: vs(
            'reviews',
            '  hosts: [reviews]\n  http:\n  - route:\n    - destination:\n        host: reviews\n  - match:\n    - headers:\n        end-user:\n          exact: jason\n    route:\n    - destination:\n        host: reviews\n',
          ),
        },
      ],
      expect: [
        {
          code: 'WFT0131',
          field: 'spec.http[1]',
          line: 11,
          message: 'http[0] before it matches every request',
        },
      ],
    },
    {
      name: 'WFT0131: a prefix "/" match is a catch-all too',
      texts: [
        {
          file: 'p.yaml',
          text: vs(
            'reviews',
            '  hosts: [reviews]\n  http:\n  - match:\n    - uri:\n        prefix: /\n    route:\n    - destination:\n        host: reviews\n  - route:\n    - destination:\n        host: reviews\n',
          ),
        },
      ],
      expect: [{ code: 'WFT0131', field: 'spec.http[1]' }],
    },
    {
      name: 'WFT0127: a policy selector that matches no known workload (Istio IST0127)',
      texts: [
        ...pick('bookinfo.yaml'),
        {
          file: 'ap.yaml',
          text: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ratings\nspec:\n  selector:\n    matchLabels:\n      app: rating\n',
        },
      ],
      expect: [{ code: 'WFT0127', field: 'spec.selector', line: 7, message: 'has labels app=rating' }],
    },
    {
      name: 'WFT0127 is silent when the selector matches a Bookinfo deployment',
      texts: [
        ...pick('bookinfo.yaml'),
        {
          file: 'ap.yaml',
          text: 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: ratings\nspec:\n  selector:\n    matchLabels:\n      app: ratings\n',
        },
      ],
      expect: [],
    },
    {
      name: 'WFT0201: kinds Weft validates but does not enforce',
      texts: pick('certmanager-gateway.yaml'),
      expect: [
        { code: 'WFT0201', message: 'Gateway is validated but not enforced' },
        { code: 'WFT0202', message: 'applies only to gateways (cert-manager-gateway)' },
      ],
    },
    {
      name: 'WFT0203: two DestinationRules for one host in one namespace',
      texts: pick('destination-rule-all.yaml', 'destination-rule-reviews.yaml').map((t, i) => ({
        ...t,
        text: i === 1 ? t.text.replace('name: reviews', 'name: reviews-again') : t.text,
      })),
      expect: [{ code: 'WFT0203', field: 'spec.host' }],
    },
  ]

  for (const c of cases) {
    it(c.name, () => {
      const found = findings(c.texts).filter((f) => f.code.startsWith('WFT'))
      expect(found).toHaveLength(c.expect.length)
      c.expect.forEach((e, i) => {
        const f = found[i]
        expect(f?.code).toBe(e.code)
        if (e.field !== undefined) expect(f?.field).toBe(e.field)
        if (e.line !== undefined) expect(f?.line).toBe(e.line)
        if (e.message !== undefined) expect(f?.message).toContain(e.message)
      })
    })
  }
})
