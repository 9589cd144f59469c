/** How far Weft goes with a kind: the single source for `analyze` and docs/config.md. */
export type Enforcement = 'enforced' | 'endpoints' | 'inventory' | 'not-enforced'

export interface KindInfo {
  readonly kind: string
  readonly group: string
  readonly versions: readonly string[]
  readonly enforcement: Enforcement
  /** Whether Weft validates the whole resource against a schema (Istio's, or Weft's own). */
  readonly schema: boolean
}

const NETWORKING = ['v1', 'v1beta1', 'v1alpha3']
const SECURITY = ['v1', 'v1beta1']
const TELEMETRY = ['v1', 'v1alpha1']

function info(
  kind: string,
  group: string,
  versions: string[],
  enforcement: Enforcement,
  schema = true,
): KindInfo {
  return Object.freeze({ kind, group, versions: Object.freeze(versions), enforcement, schema })
}

export const KINDS: ReadonlyMap<string, KindInfo> = new Map(
  [
    info('VirtualService', 'networking.istio.io', NETWORKING, 'enforced'),
    info('DestinationRule', 'networking.istio.io', NETWORKING, 'enforced'),
    info('ServiceEntry', 'networking.istio.io', NETWORKING, 'enforced'),
    info('Gateway', 'networking.istio.io', NETWORKING, 'not-enforced'),
    info('Sidecar', 'networking.istio.io', NETWORKING, 'not-enforced'),
    // A WorkloadEntry is a static endpoint: Weft routes to it, nothing more.
    info('WorkloadEntry', 'networking.istio.io', NETWORKING, 'endpoints'),
    info('WorkloadGroup', 'networking.istio.io', NETWORKING, 'not-enforced'),
    info('AuthorizationPolicy', 'security.istio.io', SECURITY, 'enforced'),
    info('PeerAuthentication', 'security.istio.io', SECURITY, 'enforced'),
    info('RequestAuthentication', 'security.istio.io', SECURITY, 'enforced'),
    info('Telemetry', 'telemetry.istio.io', TELEMETRY, 'enforced'),
    info('RateLimitPolicy', 'weft.dev', ['v1alpha1'], 'enforced'),
    // Kubernetes' own kinds, as Istio's samples ship them beside the Istio resources: Weft
    // reads service names, ports and workload labels from them (for `analyze`) and ignores
    // the rest, since it schedules nothing.
    info('Service', '', ['v1'], 'inventory', false),
    info('ServiceAccount', '', ['v1'], 'inventory', false),
    info('Deployment', 'apps', ['v1'], 'inventory', false),
  ].map((k) => [k.kind, k]),
)

export function apiVersionsOf(info: KindInfo): string[] {
  return info.versions.map((v) => (info.group ? `${info.group}/${v}` : v))
}
