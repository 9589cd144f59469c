export type {
  EscapedSlashesAction,
  NormalizedPath,
  PathNormalization,
  PathNormalizationOptions,
  PathRefusal,
} from './authz/path-normalization.js'
export { normalizePath, pathNormalizationOptions } from './authz/path-normalization.js'
export type { Endpoint } from './balancing/endpoint.js'
export { endpointKey, endpointWeight } from './balancing/endpoint.js'
export { hashKey } from './balancing/hash-key.js'
export type { LeastRequestOptions } from './balancing/least-request.js'
export { createLeastRequest, LeastRequestBalancer } from './balancing/least-request.js'
export type { MaglevOptions } from './balancing/maglev.js'
export { createMaglev, Maglev } from './balancing/maglev.js'
export { createRandomBalancer, RandomBalancer } from './balancing/random-balancer.js'
export type { RingHashOptions } from './balancing/ring-hash.js'
export { createRingHash, RingHash } from './balancing/ring-hash.js'
export type { RoundRobinOptions } from './balancing/round-robin.js'
export { createRoundRobin, RoundRobinBalancer } from './balancing/round-robin.js'
export { createWeightedPick, WeightedPick } from './balancing/weighted-pick.js'
export { InvalidOptionError, InvalidRetryOnError, WeftCoreError } from './errors.js'
export type { CompiledFault, FaultDecision } from './fault/fault-decision.js'
export { decideFault } from './fault/fault-decision.js'
export type { TokenBucketDecision, TokenBucketOptions, TokenBucketState } from './ratelimit/token-bucket.js'
export { createTokenBucket, rateLimitHeaders, TokenBucket } from './ratelimit/token-bucket.js'
export type { BackoffOptions, RetryDelay } from './resilience/backoff.js'
export { createRetryBackoff, parseRetryAfterMs, RetryBackoff } from './resilience/backoff.js'
export type {
  EjectionReason,
  EndpointSummary,
  HealthySet,
  OutlierDetectionOptions,
  OutlierEvent,
  UpstreamOutcome,
} from './resilience/outlier-detector.js'
export { createOutlierDetector, OutlierDetector } from './resilience/outlier-detector.js'
export type { RetryBudgetOptions } from './resilience/retry-budget.js'
export { createRetryBudget, RetryBudget } from './resilience/retry-budget.js'
export type { AttemptOutcome, HttpRetryInput, RetryCondition } from './resilience/retry-policy.js'
export {
  compileRetryPolicy,
  DEFAULT_RETRY_ATTEMPTS,
  DEFAULT_RETRY_ON,
  parseRetryOn,
  RetryPolicy,
} from './resilience/retry-policy.js'
