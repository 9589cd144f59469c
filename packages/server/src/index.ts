export type { InboundMeshConfig, InboundPolicyOptions } from './create-inbound-policy.js'
export { createInboundPolicy, InboundPolicy } from './create-inbound-policy.js'
export {
  ExtAuthzError,
  InboundPipelineError,
  InboundPolicyCompileError,
  InvalidInboundOptionError,
  WeftServerError,
} from './errors.js'
export type { EnvoyExtAuthzHttpProvider, ExtensionProvider } from './ext-authz.js'
export type { InboundDecisionEvent, InboundDecisionHook } from './inbound-event.js'
export type { Workload } from './inbound-policy.js'
export type { InboundHeaders, InboundRequest } from './inbound-request.js'
export type { InboundTelemetryHook } from './inbound-telemetry.js'
export type { InboundAllow, InboundDeny, InboundStage, InboundVerdict } from './inbound-verdict.js'
export { GrpcStatus, grpcStatusOf } from './inbound-verdict.js'
export type {
  ConnectionRefusal,
  ConnectionRefusalReason,
  ConnectionRefusedHook,
  InboundListenerOptions,
} from './listener/inbound-listener.js'
export { createInboundListener, InboundListener } from './listener/inbound-listener.js'
export type { InboundIdentity } from './node-request.js'
export { peerPrincipal } from './peer-identity.js'
export type { InboundLogger } from './policy-pipeline.js'
export { PolicyPipeline } from './policy-pipeline.js'
