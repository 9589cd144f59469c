import type { RateLimitPolicy, RequestAuthentication, Snapshot } from '@weft/config'
import { type Authorizer, compileAuthorization, type PathNormalizationOptions } from '@weft/core'
import { createJwtAuthenticator, type JwtAuthenticator, type JwtAuthenticatorOptions } from '@weft/identity'
import { RateLimiter } from './rate-limit/rate-limiter.js'

/** The workload whose inbound traffic is governed: its namespace and pod labels. */
export interface Workload {
  readonly namespace: string
  readonly labels: Readonly<Record<string, string>>
}

/**
 * Everything one request's checks read, compiled once per snapshot version for one workload.
 * Recompiling keeps what did not change: the JWT authenticator (its key sets and verified
 * tokens) when the RequestAuthentications are the same, and a RateLimitPolicy's buckets when
 * that policy is the same.
 */
export interface CompiledInboundPolicy {
  readonly version: string
  readonly pathNormalization: PathNormalizationOptions
  readonly authorizer: Authorizer
  readonly jwt: JwtAuthenticator
  readonly limiters: readonly RateLimiter[]
  /** What it was compiled from, to tell what a later snapshot changed. */
  readonly jwtSource: string
  readonly limiterSources: ReadonlyMap<string, RateLimiter>
}

function jwtSourceOf(policies: readonly RequestAuthentication[]): string {
  return JSON.stringify(policies.map((p) => [p.metadata.namespace, p.metadata.name, p.spec]))
}

function limiterSourceOf(policy: RateLimitPolicy): string {
  return JSON.stringify([policy.metadata.namespace, policy.metadata.name, policy.spec])
}

export function compileInboundPolicy(
  snapshot: Snapshot,
  workload: Workload,
  pathNormalization: PathNormalizationOptions,
  jwtOptions: JwtAuthenticatorOptions,
  previous: CompiledInboundPolicy | undefined,
  nowMs: number,
): CompiledInboundPolicy {
  const policies = snapshot.policiesFor(workload.namespace, workload.labels)
  const jwtSource = jwtSourceOf(policies.requestAuthentication)
  const jwt =
    previous && previous.jwtSource === jwtSource
      ? previous.jwt
      : createJwtAuthenticator(policies.requestAuthentication, jwtOptions)
  const limiterSources = new Map<string, RateLimiter>()
  const limiters = policies.rateLimit.map((policy) => {
    const source = limiterSourceOf(policy)
    const limiter = previous?.limiterSources.get(source) ?? new RateLimiter(policy, nowMs)
    limiterSources.set(source, limiter)
    return limiter
  })
  return Object.freeze({
    version: snapshot.version,
    pathNormalization,
    authorizer: compileAuthorization(policies.authorization),
    jwt,
    limiters: Object.freeze(limiters),
    jwtSource,
    limiterSources,
  })
}
