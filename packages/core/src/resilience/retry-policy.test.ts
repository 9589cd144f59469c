import { describe, expect, it } from 'vitest'
import { InvalidRetryOnError } from '../errors.js'
import { type AttemptOutcome, compileRetryPolicy, type HttpRetryInput, parseRetryOn } from './retry-policy.js'

const status = (s: number, extra: { grpcStatus?: number; rateLimited?: boolean } = {}): AttemptOutcome => ({
  kind: 'response',
  status: s,
  ...extra,
})
const connectFailure: AttemptOutcome = { kind: 'connect-failure' }
const reset: AttemptOutcome = { kind: 'reset' }
const resetBeforeRequest: AttemptOutcome = { kind: 'reset', requestStarted: false }
const refusedStream: AttemptOutcome = { kind: 'refused-stream' }
const timeout: AttemptOutcome = { kind: 'timeout' }
const overflow: AttemptOutcome = { kind: 'overflow' }

/** `retries` undefined means the route set none (Istio's default policy applies). */
const cases: {
  name: string
  retries: HttpRetryInput | undefined
  outcome: AttemptOutcome
  retry: boolean
}[] = [
  // Istio's default policy.
  {
    name: 'Istio default: a connect failure is retried',
    retries: undefined,
    outcome: connectFailure,
    retry: true,
  },
  {
    name: 'Istio default: a refused stream is retried',
    retries: undefined,
    outcome: refusedStream,
    retry: true,
  },
  {
    name: 'Istio default: gRPC UNAVAILABLE (14) is retried',
    retries: undefined,
    outcome: status(200, { grpcStatus: 14 }),
    retry: true,
  },
  {
    name: 'Istio default: gRPC CANCELLED (1) is retried',
    retries: undefined,
    outcome: status(200, { grpcStatus: 1 }),
    retry: true,
  },
  {
    name: 'Istio default: gRPC DEADLINE_EXCEEDED (4) is not retried',
    retries: undefined,
    outcome: status(200, { grpcStatus: 4 }),
    retry: false,
  },
  {
    name: 'Istio default: a 503 is not retried (retriable-status-codes lists no code)',
    retries: undefined,
    outcome: status(503),
    retry: false,
  },
  { name: 'Istio default: a 500 is not retried', retries: undefined, outcome: status(500), retry: false },
  {
    name: 'Istio default: a reset after the request was sent is not retried',
    retries: undefined,
    outcome: reset,
    retry: false,
  },
  {
    name: 'Istio default: a per-try timeout is not retried',
    retries: undefined,
    outcome: timeout,
    retry: false,
  },
  // 5xx
  {
    name: 'Envoy 5xx: a 500 is retried',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: status(500),
    retry: true,
  },
  {
    name: 'Envoy 5xx: a 503 is retried',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: status(503),
    retry: true,
  },
  {
    name: 'Envoy 5xx: a 599 is retried',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: status(599),
    retry: true,
  },
  {
    name: 'Envoy 5xx: a 404 is not retried',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: status(404),
    retry: false,
  },
  {
    name: 'Envoy 5xx: a 409 is not retried',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: status(409),
    retry: false,
  },
  {
    name: 'Envoy 5xx: a 200 is not retried',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: status(200),
    retry: false,
  },
  {
    name: 'Envoy 5xx: no response at all (reset) is retried',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: reset,
    retry: true,
  },
  {
    name: 'Envoy 5xx: includes connect-failure',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: connectFailure,
    retry: true,
  },
  {
    name: 'Envoy 5xx: includes refused-stream',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: refusedStream,
    retry: true,
  },
  {
    name: 'Envoy 5xx: a per-try timeout resets the stream and is retried',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: timeout,
    retry: true,
  },
  {
    name: 'Envoy: an x-envoy-ratelimited 503 is not retried under 5xx',
    retries: { attempts: 3, retryOn: '5xx' },
    outcome: status(503, { rateLimited: true }),
    retry: false,
  },
  // gateway-error
  {
    name: 'Envoy gateway-error: a 502 is retried',
    retries: { attempts: 2, retryOn: 'gateway-error' },
    outcome: status(502),
    retry: true,
  },
  {
    name: 'Envoy gateway-error: a 503 is retried',
    retries: { attempts: 2, retryOn: 'gateway-error' },
    outcome: status(503),
    retry: true,
  },
  {
    name: 'Envoy gateway-error: a 504 is retried',
    retries: { attempts: 2, retryOn: 'gateway-error' },
    outcome: status(504),
    retry: true,
  },
  {
    name: 'Envoy gateway-error: a 500 is not retried',
    retries: { attempts: 2, retryOn: 'gateway-error' },
    outcome: status(500),
    retry: false,
  },
  {
    name: 'Envoy gateway-error: a 501 is not retried',
    retries: { attempts: 2, retryOn: 'gateway-error' },
    outcome: status(501),
    retry: false,
  },
  {
    name: 'Envoy gateway-error: a reset counts as a gateway error',
    retries: { attempts: 2, retryOn: 'gateway-error' },
    outcome: reset,
    retry: true,
  },
  {
    name: 'Envoy gateway-error: a per-try timeout is retried',
    retries: { attempts: 2, retryOn: 'gateway-error' },
    outcome: timeout,
    retry: true,
  },
  {
    name: 'Envoy gateway-error: a connect failure is retried',
    retries: { attempts: 2, retryOn: 'gateway-error' },
    outcome: connectFailure,
    retry: true,
  },
  // reset
  {
    name: 'Envoy reset: a disconnect or reset is retried',
    retries: { attempts: 2, retryOn: 'reset' },
    outcome: reset,
    retry: true,
  },
  {
    name: 'Envoy reset: a read (per-try) timeout is retried',
    retries: { attempts: 2, retryOn: 'reset' },
    outcome: timeout,
    retry: true,
  },
  {
    name: 'Envoy reset: a connect failure is retried',
    retries: { attempts: 2, retryOn: 'reset' },
    outcome: connectFailure,
    retry: true,
  },
  {
    name: 'Envoy reset: a refused stream is retried',
    retries: { attempts: 2, retryOn: 'reset' },
    outcome: refusedStream,
    retry: true,
  },
  {
    name: 'Envoy reset: a 503 response is not retried',
    retries: { attempts: 2, retryOn: 'reset' },
    outcome: status(503),
    retry: false,
  },
  // reset-before-request
  {
    name: 'Envoy reset-before-request: a reset before any byte went upstream is retried',
    retries: { attempts: 2, retryOn: 'reset-before-request' },
    outcome: resetBeforeRequest,
    retry: true,
  },
  {
    name: 'Envoy reset-before-request: a reset after the request started is not retried',
    retries: { attempts: 2, retryOn: 'reset-before-request' },
    outcome: reset,
    retry: false,
  },
  {
    name: 'Envoy reset-before-request: a connect failure sent nothing and is retried',
    retries: { attempts: 2, retryOn: 'reset-before-request' },
    outcome: connectFailure,
    retry: true,
  },
  {
    name: 'Envoy reset-before-request: a per-try timeout is not retried',
    retries: { attempts: 2, retryOn: 'reset-before-request' },
    outcome: timeout,
    retry: false,
  },
  // connect-failure
  {
    name: 'Envoy connect-failure: a connect failure is retried',
    retries: { attempts: 2, retryOn: 'connect-failure' },
    outcome: connectFailure,
    retry: true,
  },
  {
    name: 'Envoy connect-failure: a reset is not retried',
    retries: { attempts: 2, retryOn: 'connect-failure' },
    outcome: reset,
    retry: false,
  },
  {
    name: 'Envoy connect-failure: a per-try timeout is not a connect failure',
    retries: { attempts: 2, retryOn: 'connect-failure' },
    outcome: timeout,
    retry: false,
  },
  {
    name: 'Envoy connect-failure: a 503 is not retried',
    retries: { attempts: 2, retryOn: 'connect-failure' },
    outcome: status(503),
    retry: false,
  },
  // refused-stream
  {
    name: 'Envoy refused-stream: REFUSED_STREAM is retried',
    retries: { attempts: 2, retryOn: 'refused-stream' },
    outcome: refusedStream,
    retry: true,
  },
  {
    name: 'Envoy refused-stream: another reset is not retried',
    retries: { attempts: 2, retryOn: 'refused-stream' },
    outcome: reset,
    retry: false,
  },
  {
    name: 'Envoy refused-stream: a connect failure is not retried',
    retries: { attempts: 2, retryOn: 'refused-stream' },
    outcome: connectFailure,
    retry: false,
  },
  // retriable-4xx
  {
    name: 'Envoy retriable-4xx: a 409 is retried',
    retries: { attempts: 2, retryOn: 'retriable-4xx' },
    outcome: status(409),
    retry: true,
  },
  {
    name: 'Envoy retriable-4xx: a 429 is not retried',
    retries: { attempts: 2, retryOn: 'retriable-4xx' },
    outcome: status(429),
    retry: false,
  },
  {
    name: 'Envoy retriable-4xx: a 400 is not retried',
    retries: { attempts: 2, retryOn: 'retriable-4xx' },
    outcome: status(400),
    retry: false,
  },
  // retriable-status-codes and bare codes
  {
    name: 'Istio: a code in retryOn with retriable-status-codes is retried',
    retries: { attempts: 2, retryOn: 'retriable-status-codes,503' },
    outcome: status(503),
    retry: true,
  },
  {
    name: 'Istio: a code not listed is not retried under retriable-status-codes',
    retries: { attempts: 2, retryOn: 'retriable-status-codes,503' },
    outcome: status(502),
    retry: false,
  },
  {
    name: 'Istio: a bare status code in retryOn adds retriable-status-codes',
    retries: { attempts: 2, retryOn: '503' },
    outcome: status(503),
    retry: true,
  },
  {
    name: 'Istio: a bare 429 beside 5xx makes 429 retriable',
    retries: { attempts: 2, retryOn: '5xx,429' },
    outcome: status(429),
    retry: true,
  },
  {
    name: 'Istio: retriable-status-codes with no code listed matches nothing',
    retries: { attempts: 2, retryOn: 'retriable-status-codes' },
    outcome: status(503),
    retry: false,
  },
  // envoy-ratelimited
  {
    name: 'Envoy envoy-ratelimited: a response with x-envoy-ratelimited is retried',
    retries: { attempts: 2, retryOn: 'envoy-ratelimited' },
    outcome: status(429, { rateLimited: true }),
    retry: true,
  },
  {
    name: 'Envoy envoy-ratelimited: a plain 429 is not retried',
    retries: { attempts: 2, retryOn: 'envoy-ratelimited' },
    outcome: status(429),
    retry: false,
  },
  // gRPC
  {
    name: 'Envoy gRPC cancelled: status 1 is retried',
    retries: { attempts: 2, retryOn: 'cancelled' },
    outcome: status(200, { grpcStatus: 1 }),
    retry: true,
  },
  {
    name: 'Envoy gRPC deadline-exceeded: status 4 is retried',
    retries: { attempts: 2, retryOn: 'deadline-exceeded' },
    outcome: status(200, { grpcStatus: 4 }),
    retry: true,
  },
  {
    name: 'Envoy gRPC resource-exhausted: status 8 is retried',
    retries: { attempts: 2, retryOn: 'resource-exhausted' },
    outcome: status(200, { grpcStatus: 8 }),
    retry: true,
  },
  {
    name: 'Envoy gRPC internal: status 13 is retried',
    retries: { attempts: 2, retryOn: 'internal' },
    outcome: status(200, { grpcStatus: 13 }),
    retry: true,
  },
  {
    name: 'Envoy gRPC unavailable: status 14 is retried',
    retries: { attempts: 2, retryOn: 'unavailable' },
    outcome: status(200, { grpcStatus: 14 }),
    retry: true,
  },
  {
    name: 'Envoy gRPC: a status not listed (UNKNOWN, 2) is not retried',
    retries: { attempts: 2, retryOn: 'unavailable,internal' },
    outcome: status(200, { grpcStatus: 2 }),
    retry: false,
  },
  {
    name: 'Envoy gRPC: OK (0) is not retried',
    retries: { attempts: 2, retryOn: 'cancelled,unavailable' },
    outcome: status(200, { grpcStatus: 0 }),
    retry: false,
  },
  // Conditions Weft accepts but that match nothing it can see.
  {
    name: 'Istio: retriable-headers is accepted; Istio lists no headers, so it matches nothing',
    retries: { attempts: 2, retryOn: 'retriable-headers' },
    outcome: status(503),
    retry: false,
  },
  {
    name: 'Envoy: http3-post-connect-failure is accepted; Weft speaks no HTTP/3 upstream',
    retries: { attempts: 2, retryOn: 'http3-post-connect-failure' },
    outcome: reset,
    retry: false,
  },
  // Never retried.
  {
    name: 'Envoy: an overflow (local circuit breaker) is never retried',
    retries: { attempts: 5, retryOn: '5xx,reset,connect-failure' },
    outcome: overflow,
    retry: false,
  },
  // Attempts.
  {
    name: 'Istio: attempts 0 disables retries',
    retries: { attempts: 0, retryOn: '5xx' },
    outcome: status(500),
    retry: false,
  },
  {
    name: 'Istio: retries without attempts (0 in proto3) disables retries',
    retries: { retryOn: '5xx' },
    outcome: status(500),
    retry: false,
  },
  {
    name: 'Istio: attempts without retryOn keep the default conditions',
    retries: { attempts: 4 },
    outcome: connectFailure,
    retry: true,
  },
  {
    name: 'Istio: an empty retryOn keeps the default conditions',
    retries: { attempts: 4, retryOn: '' },
    outcome: status(200, { grpcStatus: 14 }),
    retry: true,
  },
  {
    name: 'Istio: retryOn replaces the default conditions whole',
    retries: { attempts: 4, retryOn: '5xx' },
    outcome: status(200, { grpcStatus: 14 }),
    retry: false,
  },
  {
    name: 'Istio: a retryOn of blank entries only retries nothing',
    retries: { attempts: 4, retryOn: ' , ' },
    outcome: connectFailure,
    retry: false,
  },
]

describe('retry policy: which failed attempts are retried', () => {
  for (const c of cases) {
    it(c.name, () => expect(compileRetryPolicy(c.retries).shouldRetry(c.outcome)).toBe(c.retry))
  }
})

describe('retry policy: compiling Istio retries', () => {
  it('Istio: the default policy is 2 attempts on connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', () => {
    expect(compileRetryPolicy(undefined).toJSON()).toEqual({
      attempts: 2,
      retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
      retriableStatusCodes: [],
    })
  })

  it('Istio: perTryTimeout and backoff pass through', () => {
    expect(
      compileRetryPolicy({ attempts: 3, retryOn: '5xx', perTryTimeoutMs: 2000, backoffMs: 50 }).toJSON(),
    ).toEqual({
      attempts: 3,
      retryOn: ['5xx'],
      retriableStatusCodes: [],
      perTryTimeoutMs: 2000,
      backoffMs: 50,
    })
  })

  const parses: { name: string; retryOn: string; conditions: string[]; statusCodes: number[] }[] = [
    {
      name: 'Istio: entries are trimmed and blanks skipped',
      retryOn: ' 5xx , ,reset ',
      conditions: ['5xx', 'reset'],
      statusCodes: [],
    },
    {
      name: 'Istio: numbers become retriable status codes and add the condition',
      retryOn: 'gateway-error,503,429',
      conditions: ['gateway-error', 'retriable-status-codes'],
      statusCodes: [503, 429],
    },
    {
      name: 'Weft: repeated entries are kept once',
      retryOn: '5xx,5xx,503,503',
      conditions: ['5xx', 'retriable-status-codes'],
      statusCodes: [503],
    },
    {
      name: 'Istio: every documented HTTP and gRPC condition is accepted',
      retryOn:
        '5xx,gateway-error,reset,connect-failure,retriable-4xx,refused-stream,retriable-status-codes,retriable-headers,envoy-ratelimited,reset-before-request,http3-post-connect-failure,cancelled,deadline-exceeded,internal,resource-exhausted,unavailable',
      conditions: [
        '5xx',
        'gateway-error',
        'reset',
        'connect-failure',
        'retriable-4xx',
        'refused-stream',
        'retriable-status-codes',
        'retriable-headers',
        'envoy-ratelimited',
        'reset-before-request',
        'http3-post-connect-failure',
        'cancelled',
        'deadline-exceeded',
        'internal',
        'resource-exhausted',
        'unavailable',
      ],
      statusCodes: [],
    },
  ]
  for (const c of parses) {
    it(c.name, () =>
      expect(parseRetryOn(c.retryOn)).toEqual({ conditions: c.conditions, statusCodes: c.statusCodes }),
    )
  }

  const refused: { name: string; retryOn: string; condition: string }[] = [
    { name: 'Istio: an unknown condition is refused', retryOn: '5xx,bogus', condition: 'bogus' },
    { name: 'Istio: conditions are case-sensitive', retryOn: 'Retriable-4xx', condition: 'Retriable-4xx' },
    {
      name: 'Istio: a number Go does not know as a status (599) is refused',
      retryOn: '599',
      condition: '599',
    },
    { name: 'Istio: a status code must be a whole number', retryOn: '503.0', condition: '503.0' },
  ]
  for (const c of refused) {
    it(c.name, () => {
      expect(() => parseRetryOn(c.retryOn)).toThrow(InvalidRetryOnError)
      expect(() => compileRetryPolicy({ attempts: 1, retryOn: c.retryOn })).toThrow(
        expect.objectContaining({ code: 'WEFT_CORE_INVALID_RETRY_ON', condition: c.condition }),
      )
    })
  }
})
