/**
 * `weft.dev/v1alpha1` RateLimitPolicy: what Istio leaves to an EnvoyFilter with Envoy's local
 * rate limit, as a resource in Istio's style. Envoy's token bucket (`maxTokens`,
 * `tokensPerFill`, `fillInterval`), a workload `selector` as AuthorizationPolicy's, and rules
 * whose `match` entries are OR'd with their fields AND'd, as VirtualService matches are.
 * Each instance of a workload keeps its own buckets, as Envoy's local rate limit does.
 */
const stringMatch = {
  type: 'object',
  additionalProperties: false,
  properties: { exact: { type: 'string' }, prefix: { type: 'string' }, regex: { type: 'string' } },
  oneOf: [
    { not: { anyOf: [{ required: ['exact'] }, { required: ['prefix'] }, { required: ['regex'] }] } },
    { required: ['exact'] },
    { required: ['prefix'] },
    { required: ['regex'] },
  ],
}

const duration = {
  type: 'string',
  'x-kubernetes-validations': [
    { message: 'must be a valid duration greater than 1ms', rule: "duration(self) >= duration('1ms')" },
  ],
}

export const rateLimitPolicySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: {
    selector: {
      type: 'object',
      additionalProperties: false,
      properties: {
        matchLabels: {
          type: 'object',
          additionalProperties: { type: 'string', maxLength: 63 },
          maxProperties: 4096,
        },
      },
    },
    mode: { enum: ['ENFORCE', 'DRY_RUN'] },
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['tokenBucket'],
        properties: {
          name: { type: 'string', maxLength: 253 },
          match: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                paths: { type: 'array', items: { type: 'string' } },
                notPaths: { type: 'array', items: { type: 'string' } },
                methods: { type: 'array', items: { type: 'string' } },
                headers: { type: 'object', additionalProperties: stringMatch },
                sourcePrincipals: { type: 'array', items: { type: 'string' } },
                sourceNamespaces: { type: 'array', items: { type: 'string' } },
              },
            },
          },
          tokenBucket: {
            type: 'object',
            additionalProperties: false,
            required: ['maxTokens', 'fillInterval'],
            properties: {
              maxTokens: { type: 'integer', format: 'uint32', minimum: 1 },
              tokensPerFill: { type: 'integer', format: 'uint32', minimum: 1 },
              fillInterval: duration,
            },
          },
        },
      },
    },
    response: {
      type: 'object',
      additionalProperties: false,
      properties: {
        status: { type: 'integer', minimum: 400, maximum: 599 },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
  },
} as const

export interface RateLimitPolicySpec {
  selector?: { matchLabels?: Record<string, string> }
  /** `DRY_RUN` counts and reports what would be limited, and limits nothing. Default `ENFORCE`. */
  mode?: 'ENFORCE' | 'DRY_RUN'
  rules: Array<{
    name?: string
    match?: Array<{
      paths?: string[]
      notPaths?: string[]
      methods?: string[]
      headers?: Record<string, { exact?: string; prefix?: string; regex?: string }>
      sourcePrincipals?: string[]
      sourceNamespaces?: string[]
    }>
    /** Envoy's token bucket; `tokensPerFill` defaults to 1, as Envoy's does. */
    tokenBucket: { maxTokens: number; tokensPerFill?: number; fillInterval: string }
  }>
  /** Default: status 429. */
  response?: { status?: number; headers?: Record<string, string> }
}
