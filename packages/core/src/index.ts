export type {
  AuthorizationDecision,
  CustomCheck,
  DryRunMatch,
  PolicyAction,
} from './authz/authorization-decision.js'
export type { AuthorizationRequest } from './authz/authorization-request.js'
export { Authorizer, compileAuthorization } from './authz/compile-authorization.js'
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
export type { HashInput, HashKeyDecision } from './balancing/hash-policy.js'
export { consistentHashKey } from './balancing/hash-policy.js'
export type { LeastRequestOptions } from './balancing/least-request.js'
export { createLeastRequest, LeastRequestBalancer } from './balancing/least-request.js'
export type {
  LoadBalancer,
  LoadBalancerPolicy,
  LoadBalancerSettings,
  PickContext,
} from './balancing/load-balancer.js'
export { createLoadBalancer } from './balancing/load-balancer.js'
export type { MaglevOptions } from './balancing/maglev.js'
export { createMaglev, Maglev } from './balancing/maglev.js'
export { createRandomBalancer, RandomBalancer } from './balancing/random-balancer.js'
export type { RingHashOptions } from './balancing/ring-hash.js'
export { createRingHash, RingHash } from './balancing/ring-hash.js'
export type { RoundRobinOptions } from './balancing/round-robin.js'
export { createRoundRobin, RoundRobinBalancer } from './balancing/round-robin.js'
export type { SlowStart } from './balancing/slow-start.js'
export { slowStartFactor, slowStartOf } from './balancing/slow-start.js'
export { createWeightedPick, WeightedPick } from './balancing/weighted-pick.js'
export type { Admission, PoolLimits } from './destination/connection-pool.js'
export { ConnectionPool, poolLimits } from './destination/connection-pool.js'
export type { LocalityOf } from './destination/locality.js'
export { distributeWeights, localityPriority, pickPriority, priorityLoads } from './destination/locality.js'
export { durationMs } from './duration.js'
export { InvalidOptionError, InvalidRetryOnError, WeftCoreError } from './errors.js'
export type { FaultDecision } from './fault/fault-decision.js'
export { decideFault } from './fault/fault-decision.js'
export type {
  MtlsMode,
  PeerAuthenticationDecision,
  PeerAuthenticationScope,
  WorkloadPeerAuthentication,
} from './peer/peer-authentication.js'
export { mergePeerAuthentication, peerAuthenticationFor } from './peer/peer-authentication.js'
export type { TokenBucketDecision, TokenBucketOptions, TokenBucketState } from './ratelimit/token-bucket.js'
export { createTokenBucket, rateLimitHeaders, TokenBucket } from './ratelimit/token-bucket.js'
export type { BackoffOptions, RetryDelay } from './resilience/backoff.js'
export { createRetryBackoff, parseRetryAfterMs, RetryBackoff } from './resilience/backoff.js'
export {
  attemptTimeoutMs,
  formatGrpcTimeout,
  GRPC_TIMEOUT_HEADER,
  HTTP_DEADLINE_HEADER,
  parseGrpcTimeout,
  parseHttpDeadline,
  remainingMs,
} from './resilience/deadline.js'
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
export type { MatchContext } from './routing/request-matcher.js'
export { createMatchContext, matchesRequest } from './routing/request-matcher.js'
export type { MirrorTarget, RouteDecision, RouteTarget } from './routing/route-decision.js'
export { pickDestination, routeRequest } from './routing/route-decision.js'
export type { RouteRequest, RouteSource } from './routing/route-request.js'
export { splitAuthority } from './routing/route-request.js'
