export { DiagnosticCode, ConfigInvalidError, WeftConfigError } from './errors.js'
export type { Diagnostic, PathSegment, Severity } from './model/diagnostic.js'
export { formatDiagnostic, formatPath, hasErrors } from './model/diagnostic.js'
export { parseDurationMs } from './model/duration.js'
export type { Enforcement, KindInfo } from './model/kinds.js'
export { KINDS } from './model/kinds.js'
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
export type { RateLimitPolicySpec } from './model/rate-limit-policy-schema.js'
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
export type { ParseResult, Position, SourceDocument, SourceText } from './parse/parse-documents.js'
export { objectDocument, parseDocuments } from './parse/parse-documents.js'
export type { ValidateOptions, ValidationResult } from './validate/validate-documents.js'
export { validateDocuments } from './validate/validate-documents.js'
