// Istio's Bookinfo tasks, in the order Istio's docs walk them, each as a step: the rules it
// applies (Istio's own files where Istio ships one), the traffic it sends, and what Istio's task
// page says the reader should then see. The demo prints them; the tests assert on them.
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { istioDir, ruleFile } from './bookinfo.mjs'
import { drive, plaintext, scrapeCounter, share } from './traffic.mjs'

const ISTIO = 'https://istio.io/latest/docs/tasks'
const ALL_V1 = ['bookinfo/destination-rule-all.yaml', 'bookinfo/virtual-service-all-v1.yaml']

/** A row of a step's table: the traffic sent (or the probe made), what was seen, what Istio says. */
function row(traffic, summary, expected, ok, seen) {
  return { traffic, summary, expected, ok: Boolean(ok), ...(seen === undefined ? {} : { seen }) }
}

const only = (counts, key) => Object.keys(counts).length === 1 && counts[key] !== undefined
const all200 = (s) => s.n > 0 && only(s.statuses, '200')

export const steps = [
  {
    id: 'no-rules',
    title: 'Bookinfo with no rules: reviews balanced over v1, v2 and v3',
    task: 'https://istio.io/latest/docs/examples/bookinfo/',
    async run() {
      const s = await drive(this.bookinfo, { count: 60 })
      return {
        changes: [
          'no VirtualService (only Istio’s default DestinationRules): every reviews endpoint takes a share',
        ],
        rows: [
          row(
            '60 anonymous',
            s,
            'v1, v2 and v3 all seen',
            all200(s) && ['v1', 'v2', 'v3'].every((v) => s.versions[v] > 0),
          ),
        ],
      }
    },
  },
  {
    id: 'routing-all-v1',
    title: 'Request routing: every service to v1',
    task: `${ISTIO}/traffic-management/request-routing/`,
    async run() {
      await this.bookinfo.apply(...ALL_V1)
      const s = await drive(this.bookinfo, { count: 30 })
      return {
        changes: ALL_V1,
        rows: [
          row(
            '30 anonymous',
            s,
            'only v1, no stars',
            all200(s) && only(s.versions, 'v1') && only(s.stars, 'none'),
          ),
        ],
      }
    },
  },
  {
    id: 'routing-jason',
    title: 'Request routing: jason to v2',
    task: `${ISTIO}/traffic-management/request-routing/`,
    async run() {
      await this.bookinfo.apply('bookinfo/virtual-service-reviews-test-v2.yaml')
      const jason = await drive(this.bookinfo, { count: 30, user: 'jason' })
      const anonymous = await drive(this.bookinfo, { count: 30 })
      return {
        changes: ['bookinfo/virtual-service-reviews-test-v2.yaml (end-user: jason → v2)'],
        rows: [
          row(
            '30 as jason',
            jason,
            'only v2, black stars',
            all200(jason) && only(jason.versions, 'v2') && only(jason.stars, 'black'),
          ),
          row('30 anonymous', anonymous, 'only v1', all200(anonymous) && only(anonymous.versions, 'v1')),
        ],
      }
    },
  },
  weightStep(
    'shifting-80-20',
    'Traffic shifting: 80 % v1, 20 % v2',
    'bookinfo/virtual-service-reviews-80-20.yaml',
    2000,
    { v1: 80, v2: 20 },
  ),
  weightStep(
    'shifting-50-50',
    'Traffic shifting: 50 % v1, 50 % v3',
    'bookinfo/virtual-service-reviews-50-v3.yaml',
    1000,
    { v1: 50, v3: 50 },
  ),
  {
    id: 'shifting-v3',
    title: 'Traffic shifting: all to v3',
    task: `${ISTIO}/traffic-management/traffic-shifting/`,
    async run() {
      await this.bookinfo.apply('bookinfo/virtual-service-reviews-v3.yaml')
      const s = await drive(this.bookinfo, { count: 30 })
      return {
        changes: ['bookinfo/virtual-service-reviews-v3.yaml'],
        rows: [
          row(
            '30 anonymous',
            s,
            'only v3, red stars',
            all200(s) && only(s.versions, 'v3') && only(s.stars, 'red'),
          ),
        ],
      }
    },
  },
  {
    id: 'fault-delay',
    title: 'Fault injection: a 7 s delay on ratings for jason',
    task: `${ISTIO}/traffic-management/fault-injection/`,
    async run() {
      const files = [
        ...ALL_V1,
        'bookinfo/virtual-service-reviews-test-v2.yaml',
        'bookinfo/virtual-service-ratings-test-delay.yaml',
      ]
      await this.bookinfo.apply(...files)
      const [jason, anonymous] = await Promise.all([
        drive(this.bookinfo, { count: 3, concurrency: 3, user: 'jason' }),
        drive(this.bookinfo, { count: 20 }),
      ])
      return {
        changes: files,
        rows: [
          row(
            '3 as jason',
            jason,
            'reviews unavailable: productpage gives up (2 × 3 s) before reviews v2 gets ratings (7 s)',
            all200(jason) && jason.reviewsErrors === jason.n && jason.p50 >= 5500,
          ),
          row(
            '20 anonymous',
            anonymous,
            'v1, untouched by the fault',
            all200(anonymous) && only(anonymous.versions, 'v1') && anonymous.reviewsErrors === 0,
          ),
        ],
      }
    },
  },
  {
    id: 'fault-abort',
    title: 'Fault injection: ratings aborts with HTTP 500 for jason',
    task: `${ISTIO}/traffic-management/fault-injection/`,
    async run() {
      await this.bookinfo.apply('bookinfo/virtual-service-ratings-test-abort.yaml')
      const jason = await drive(this.bookinfo, { count: 20, user: 'jason' })
      const anonymous = await drive(this.bookinfo, { count: 20 })
      return {
        changes: ['bookinfo/virtual-service-ratings-test-abort.yaml'],
        rows: [
          row(
            '20 as jason',
            jason,
            'v2 with “Ratings service is currently unavailable”',
            all200(jason) && only(jason.versions, 'v2') && jason.ratingsErrors === jason.n,
          ),
          row(
            '20 anonymous',
            anonymous,
            'v1, no error',
            all200(anonymous) && only(anonymous.versions, 'v1') && anonymous.ratingsErrors === 0,
          ),
        ],
      }
    },
  },
  {
    id: 'timeout-delay',
    title: 'Request timeouts: reviews to v2, ratings delayed 2 s',
    task: `${ISTIO}/traffic-management/request-timeouts/`,
    async run() {
      const files = [
        ...ALL_V1,
        'rules/virtual-service-reviews-v2.yaml',
        'rules/virtual-service-ratings-delay-2s.yaml',
      ]
      await this.bookinfo.apply(...files)
      const s = await drive(this.bookinfo, { count: 6, concurrency: 3 })
      return {
        changes: files,
        rows: [
          row(
            '6 anonymous',
            s,
            'v2 black stars, each page ≥ 2 s',
            all200(s) && only(s.stars, 'black') && s.p50 >= 2000,
          ),
        ],
      }
    },
  },
  {
    id: 'timeout-half-second',
    title: 'Request timeouts: reviews calls time out after 0.5 s',
    task: `${ISTIO}/traffic-management/request-timeouts/`,
    async run() {
      await this.bookinfo.apply('rules/virtual-service-reviews-v2-timeout.yaml')
      const s = await drive(this.bookinfo, { count: 6, concurrency: 3 })
      return {
        changes: ['rules/virtual-service-reviews-v2-timeout.yaml (timeout: 0.5s)'],
        rows: [
          row(
            '6 anonymous',
            s,
            'reviews unavailable after about 1 s (productpage tries twice, 0.5 s each)',
            all200(s) && s.reviewsErrors === s.n && s.p50 >= 1000,
          ),
        ],
      }
    },
  },
  {
    id: 'circuit-breaking',
    title: 'Circuit breaking: productpage allows 1 connection and 1 waiting request',
    task: `${ISTIO}/traffic-management/circuit-breaking/`,
    async run() {
      await this.bookinfo.apply(...ALL_V1, 'rules/destination-rule-productpage-circuit-breaker.yaml')
      const s = await drive(this.bookinfo, { count: 60, concurrency: 10 })
      await this.bookinfo.apply('bookinfo/destination-rule-all.yaml')
      const overflowed = s.statuses['503'] ?? 0
      return {
        changes: [
          'rules/destination-rule-productpage-circuit-breaker.yaml, then bookinfo/destination-rule-all.yaml again',
        ],
        rows: [
          row(
            '60 anonymous, 10 at a time',
            s,
            'some 200, some 503 UO (pool overflow at the ingress)',
            (s.statuses['200'] ?? 0) > 0 &&
              overflowed > 0 &&
              (s.flags.UO ?? 0) === overflowed &&
              s.n === (s.statuses['200'] ?? 0) + overflowed,
          ),
        ],
      }
    },
  },
  {
    id: 'mirroring',
    title: 'Mirroring: reviews v1 answers, v2 gets a copy',
    task: `${ISTIO}/traffic-management/mirroring/`,
    async run() {
      await this.bookinfo.apply('rules/virtual-service-reviews-v1-mirror-v2.yaml')
      const v2 = this.bookinfo.services.find((s) => s.service === 'reviews' && s.version === 'v2')
      const served = () => scrapeCounter(v2.metricsPort, 'istio_requests_total', { reporter: 'destination' })
      const before = await served()
      const s = await drive(this.bookinfo, { count: 50 })
      // Mirrored copies are fire-and-forget: give the last ones a moment to land.
      let mirrored = 0
      for (let i = 0; i < 50 && mirrored < s.n; i++) {
        mirrored = (await served()) - before
        if (mirrored < s.n) await new Promise((r) => setTimeout(r, 100))
      }
      return {
        changes: ['rules/virtual-service-reviews-v1-mirror-v2.yaml (mirror to v2, 100 %)'],
        rows: [
          row('50 anonymous', s, 'every answer from v1', all200(s) && only(s.versions, 'v1')),
          row(
            'reviews-v2 /metrics',
            undefined,
            `${s.n} mirrored requests served by v2`,
            mirrored === s.n,
            `${mirrored} served by v2`,
          ),
        ],
      }
    },
  },
  {
    id: 'mtls-strict',
    title: 'Mutual TLS: STRICT for the namespace',
    task: `${ISTIO}/security/authentication/mtls-migration/`,
    async run() {
      const files = [
        ...ALL_V1,
        'bookinfo/virtual-service-reviews-jason-v2-v3.yaml',
        'rules/peer-authentication-strict.yaml',
      ]
      await this.bookinfo.apply(...files)
      const port = (name) => this.bookinfo.services.find((s) => s.service === name).port
      const productpage = await plaintext(port('productpage'), '/productpage')
      const ratings = await plaintext(port('ratings'), '/ratings/0')
      const s = await drive(this.bookinfo, { count: 20 })
      const jason = await drive(this.bookinfo, { count: 10, user: 'jason' })
      return {
        changes: files,
        rows: [
          row(
            'plaintext to productpage',
            undefined,
            'refused',
            productpage.startsWith('refused'),
            productpage,
          ),
          row('plaintext to ratings', undefined, 'refused', ratings.startsWith('refused'), ratings),
          row('20 anonymous (meshed calls)', s, 'v3 red stars, all 200', all200(s) && only(s.stars, 'red')),
          row(
            '10 as jason (meshed calls)',
            jason,
            'v2 black stars, all 200',
            all200(jason) && only(jason.stars, 'black'),
          ),
        ],
      }
    },
  },
  {
    id: 'authz-deny-all',
    title: 'Authorization: allow nothing',
    task: `${ISTIO}/security/authorization/authz-http/`,
    async run() {
      await this.bookinfo.apply('rules/authorization-allow-nothing.yaml')
      const s = await drive(this.bookinfo, { count: 10 })
      return {
        changes: ['rules/authorization-allow-nothing.yaml'],
        rows: [
          row(
            '10 anonymous',
            s,
            '403 RBAC: access denied',
            only(s.statuses, '403') && s.first?.body === 'RBAC: access denied',
          ),
        ],
      }
    },
  },
  {
    id: 'authz-productpage',
    title: 'Authorization: GET productpage allowed',
    task: `${ISTIO}/security/authorization/authz-http/`,
    async run() {
      await this.bookinfo.apply('rules/authorization-productpage-viewer.yaml')
      const s = await drive(this.bookinfo, { count: 10 })
      return {
        changes: ['rules/authorization-productpage-viewer.yaml'],
        rows: [
          row(
            '10 anonymous',
            s,
            'page, but details and reviews errors',
            all200(s) && s.detailsErrors === s.n && s.reviewsErrors === s.n,
          ),
        ],
      }
    },
  },
  {
    id: 'authz-details-reviews',
    title: 'Authorization: productpage may GET details and reviews',
    task: `${ISTIO}/security/authorization/authz-http/`,
    async run() {
      await this.bookinfo.apply('rules/authorization-details-reviews-viewer.yaml')
      const s = await drive(this.bookinfo, { count: 10 })
      return {
        changes: ['rules/authorization-details-reviews-viewer.yaml'],
        rows: [
          row(
            '10 anonymous',
            s,
            'details and reviews, “Ratings service is currently unavailable”',
            all200(s) && s.detailsErrors === 0 && s.reviewsErrors === 0 && s.ratingsErrors === s.n,
          ),
        ],
      }
    },
  },
  {
    id: 'authz-ratings',
    title: 'Authorization: reviews may GET ratings',
    task: `${ISTIO}/security/authorization/authz-http/`,
    async run() {
      await this.bookinfo.apply('rules/authorization-ratings-viewer.yaml')
      const s = await drive(this.bookinfo, { count: 10 })
      await this.bookinfo.remove(...AUTHZ_POLICIES)
      return {
        changes: ['rules/authorization-ratings-viewer.yaml; afterwards every policy of the task deleted'],
        rows: [
          row(
            '10 anonymous',
            s,
            'the whole page, red stars',
            all200(s) && s.ratingsErrors === 0 && only(s.stars, 'red'),
          ),
        ],
      }
    },
  },
  {
    id: 'jwt-authentication',
    title: 'JWT: productpage verifies tokens of Istio’s test issuer',
    task: `${ISTIO}/security/authentication/authn-policy/#end-user-authentication`,
    async run() {
      await this.bookinfo.apply(await requestAuthentication(this))
      const none = await drive(this.bookinfo, { count: 5 })
      const valid = await drive(this.bookinfo, {
        count: 5,
        headers: { authorization: `Bearer ${await demoToken()}` },
      })
      const invalid = await drive(this.bookinfo, {
        count: 5,
        headers: { authorization: 'Bearer invalidToken' },
      })
      return {
        changes: ['rules/request-authentication-productpage.yaml'],
        rows: [
          row('5 without a token', none, '200', all200(none)),
          row('5 with demo.jwt', valid, '200', all200(valid)),
          row('5 with an invalid token', invalid, '401', only(invalid.statuses, '401')),
        ],
      }
    },
  },
  {
    id: 'jwt-require',
    title: 'JWT: productpage requires a request principal',
    task: `${ISTIO}/security/authorization/authz-jwt/`,
    async run() {
      await this.bookinfo.apply('rules/authorization-productpage-require-jwt.yaml')
      const none = await drive(this.bookinfo, { count: 5 })
      const valid = await drive(this.bookinfo, {
        count: 5,
        headers: { authorization: `Bearer ${await demoToken()}` },
      })
      await this.bookinfo.remove(...JWT_POLICIES)
      await this.closeJwks?.()
      return {
        changes: ['rules/authorization-productpage-require-jwt.yaml; afterwards both JWT resources deleted'],
        rows: [
          row('5 without a token', none, '403', only(none.statuses, '403')),
          row(
            '5 with demo.jwt',
            valid,
            '200 with the whole page',
            all200(valid) && valid.ratingsErrors === 0,
          ),
        ],
      }
    },
  },
]

const AUTHZ_POLICIES = [
  'allow-nothing',
  'productpage-viewer',
  'details-viewer',
  'reviews-viewer',
  'ratings-viewer',
].map((name) => `AuthorizationPolicy/default/${name}`)
const JWT_POLICIES = ['RequestAuthentication/default/jwt-example', 'AuthorizationPolicy/default/require-jwt']

function weightStep(id, title, file, count, weights) {
  return {
    id,
    title,
    task: `${ISTIO}/traffic-management/traffic-shifting/`,
    async run() {
      await this.bookinfo.apply(file)
      const s = await drive(this.bookinfo, { count, concurrency: 8 })
      const shares = Object.keys(weights).map((v) => `${v} ${share(s.versions[v], s.n)} %`)
      const within = Object.entries(weights).every(([v, w]) => Math.abs(share(s.versions[v], s.n) - w) <= 3)
      return {
        changes: [file],
        rows: [
          row(
            `${count} anonymous`,
            s,
            Object.entries(weights)
              .map(([v, w]) => `${v} ${w} % ± 3`)
              .join(', '),
            all200(s) && s.n === count && within,
            shares.join(', '),
          ),
        ],
      }
    },
  }
}

/** Istio's test token, signed by the key whose public half is in jwt/jwks.json. */
export async function demoToken() {
  return (await readFile(join(istioDir, 'jwt/demo.jwt'), 'utf8')).trim()
}

/**
 * The RequestAuthentication with the address of a JWKS server this run starts: Istio's task
 * fetches its key set from GitHub, which a demo on a laptop offline could not.
 */
async function requestAuthentication(ctx) {
  const jwks = await readFile(join(istioDir, 'jwt/jwks.json'))
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
  )
  await new Promise((listening) => server.listen(0, '127.0.0.1', listening))
  ctx.closeJwks = () => new Promise((closed) => server.close(closed))
  const rule = await ruleFile('rules/request-authentication-productpage.yaml')
  const uri = `http://127.0.0.1:${server.address().port}/jwks.json`
  return { file: rule.file, text: rule.text.replace('http://jwks.bookinfo.invalid/jwks.json', uri) }
}

/** Runs one step with `bookinfo`; the step's result, with `ok` when every row met Istio's outcome. */
export async function runStep(step, ctx) {
  const started = Date.now()
  const result = await step.run.call(ctx)
  return { ...result, id: step.id, ok: result.rows.every((r) => r.ok), ms: Date.now() - started }
}
