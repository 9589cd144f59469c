export { analyze } from './analyze/analyze.js'
export { AnalyzerMessage } from './analyze/analyzer-messages.js'
export { ConfigInvalidError, DiagnosticCode, WeftConfigError } from './errors.js'
export type {
  AuthorizationPolicySpec,
  DestinationRuleSpec,
  PeerAuthenticationSpec,
  RequestAuthenticationSpec,
  ServiceEntrySpec,
  TelemetrySpec,
  VirtualServiceSpec,
  WorkloadEntrySpec,
} from './generated/istio-types.js'
export type { LoadedConfig, LoadOptions } from './load-config.js'
export { loadConfig } from './load-config.js'
export type { CircuitBreakerSettings } from './model/circuit-breaker-annotation.js'
export { CIRCUIT_BREAKER_ANNOTATION } from './model/circuit-breaker-annotation.js'
export type { Diagnostic, PathSegment, Severity } from './model/diagnostic.js'
export { formatDiagnostic, formatPath, hasErrors } from './model/diagnostic.js'
export { parseDurationMs } from './model/duration.js'
export type { FieldStatus, FieldSupport, KindSupport } from './model/field-support.js'
export { FIELD_SUPPORT, fieldSupport } from './model/field-support.js'
export type { Enforcement, KindInfo } from './model/kinds.js'
export { KINDS } from './model/kinds.js'
export type { RateLimitPolicySpec } from './model/rate-limit-policy-schema.js'
export { rateLimitPolicySchema } from './model/rate-limit-policy-schema.js'
export type {
  AuthorizationPolicy,
  DestinationRule,
  Kind,
  ObjectMeta,
  PeerAuthentication,
  RateLimitPolicy,
  RequestAuthentication,
  Resource,
  ResourceOf,
  ServiceEntry,
  Telemetry,
  VirtualService,
  WorkloadEntry,
} from './model/resource.js'
export { resourceKey } from './model/resource.js'
export type { ParseResult, Position, SourceDocument, SourceText } from './parse/parse-documents.js'
export { objectDocument, parseDocuments } from './parse/parse-documents.js'
export type {
  CompiledDestinationRule,
  CompiledSubset,
  TrafficPolicy,
} from './snapshot/compile-destination-rule.js'
export { mergeTrafficPolicy } from './snapshot/compile-destination-rule.js'
export type {
  CompiledFault,
  CompiledHttpRoute,
  CompiledMatch,
  CompiledMirror,
  CompiledRetries,
  CompiledVirtualService,
  CorsPolicy,
  HeaderOperations,
  RouteAction,
  RouteDestination,
  WeightedDestinations,
} from './snapshot/compile-virtual-service.js'
export { contentHash } from './snapshot/content-hash.js'
export type { HostIndex } from './snapshot/host-index.js'
export { DEFAULT_DOMAIN_SUFFIX, resolveHost, splitServiceHost } from './snapshot/host-name.js'
export type { PolicyIndex, WorkloadPolicies } from './snapshot/policy-index.js'
export { isSealed, SealedCache, seal } from './snapshot/sealed.js'
export type {
  Endpoint,
  RegistryEndpoint,
  ServiceInfo,
  ServicePort,
  WorkloadInfo,
} from './snapshot/service-registry.js'
export { selects } from './snapshot/service-registry.js'
export type { SnapshotOptions } from './snapshot/snapshot.js'
export { compileSnapshot, Snapshot } from './snapshot/snapshot.js'
export type { StringMatcher, StringMatchKind } from './snapshot/string-matcher.js'
export type { UriRegexRewrite } from './snapshot/uri-regex-rewrite.js'
export type { ValidateOptions, ValidationResult } from './validate/validate-documents.js'
export { validateDocuments } from './validate/validate-documents.js'
