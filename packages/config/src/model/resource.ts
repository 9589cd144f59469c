import type {
  AuthorizationPolicySpec,
  DestinationRuleSpec,
  GatewaySpec,
  PeerAuthenticationSpec,
  RequestAuthenticationSpec,
  ServiceEntrySpec,
  SidecarSpec,
  TelemetrySpec,
  VirtualServiceSpec,
  WorkloadEntrySpec,
  WorkloadGroupSpec,
} from '../generated/istio-types.js'
import type { RateLimitPolicySpec } from './rate-limit-policy-schema.js'

export interface ObjectMeta {
  name: string
  /** Always set once a resource is validated: the file's, or the default namespace. */
  namespace: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  resourceVersion?: string
}

interface Of<K extends string, S> {
  apiVersion: string
  kind: K
  metadata: ObjectMeta
  spec: S
}

/** Kubernetes kinds Weft reads an inventory from; their other fields are ignored. */
export interface KubernetesServiceSpec {
  selector?: Record<string, string>
  ports?: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string }>
}
export interface DeploymentSpec {
  template?: { metadata?: { labels?: Record<string, string> }; spec?: { serviceAccountName?: string } }
}

export type VirtualService = Of<'VirtualService', VirtualServiceSpec>
export type DestinationRule = Of<'DestinationRule', DestinationRuleSpec>
export type ServiceEntry = Of<'ServiceEntry', ServiceEntrySpec>
export type Gateway = Of<'Gateway', GatewaySpec>
export type Sidecar = Of<'Sidecar', SidecarSpec>
export type WorkloadEntry = Of<'WorkloadEntry', WorkloadEntrySpec>
export type WorkloadGroup = Of<'WorkloadGroup', WorkloadGroupSpec>
export type AuthorizationPolicy = Of<'AuthorizationPolicy', AuthorizationPolicySpec>
export type PeerAuthentication = Of<'PeerAuthentication', PeerAuthenticationSpec>
export type RequestAuthentication = Of<'RequestAuthentication', RequestAuthenticationSpec>
export type Telemetry = Of<'Telemetry', TelemetrySpec>
export type RateLimitPolicy = Of<'RateLimitPolicy', RateLimitPolicySpec>
export type KubernetesService = Of<'Service', KubernetesServiceSpec>
export type ServiceAccount = Of<'ServiceAccount', Record<string, never>>
export type Deployment = Of<'Deployment', DeploymentSpec>

export type Resource =
  | VirtualService
  | DestinationRule
  | ServiceEntry
  | Gateway
  | Sidecar
  | WorkloadEntry
  | WorkloadGroup
  | AuthorizationPolicy
  | PeerAuthentication
  | RequestAuthentication
  | Telemetry
  | RateLimitPolicy
  | KubernetesService
  | ServiceAccount
  | Deployment

export type Kind = Resource['kind']
export type ResourceOf<K extends Kind> = Extract<Resource, { kind: K }>

/** `Kind/namespace/name`: how diagnostics, the CLI and the control plane name a resource. */
export function resourceKey(r: { kind: string; metadata: { name: string; namespace: string } }): string {
  return `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`
}
