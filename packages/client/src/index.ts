export type { ClusterHealth, EndpointHealth } from './cluster-health.js'
export { clusterHealth } from './cluster-health.js'
export type { MeshGrpc, MeshGrpcOptions } from './grpc/grpc-mesh.js'
export { meshGrpc } from './grpc/grpc-mesh.js'
export type { MeshDispatcherOptions } from './mesh-dispatcher.js'
export { createMeshDispatcher } from './mesh-dispatcher.js'
export type { MeshInterceptorOptions } from './mesh-interceptor.js'
export { meshInterceptor } from './mesh-interceptor.js'
export type { OutboundRequestEvent, OutboundRequestHook } from './request-event.js'
export type {
  OutboundAttempt,
  OutboundRequestObserver,
  OutboundRequestStart,
  OutboundTelemetry,
} from './request-observer.js'
export { RESPONSE_FLAGS_HEADER, ResponseFlag } from './response-flags.js'
