/**
 * Istio's standard metric labels, in the order every series carries them, and Istio's values
 * for what a reporter cannot know (`unknown`, `-` for no response flags, `""` for the gRPC
 * status of a plain HTTP request).
 */
export const ISTIO_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const

export type IstioLabel = (typeof ISTIO_LABELS)[number]

/** Index of each label in a series' value list. */
export const LABEL_INDEX: Readonly<Record<IstioLabel, number>> = Object.freeze(
  Object.fromEntries(ISTIO_LABELS.map((name, i) => [name, i])) as Record<IstioLabel, number>,
)

export const UNKNOWN = 'unknown'
export const NO_FLAGS = '-'

/** An endpoint label that names its workload, where the Deployment name Istio reports is not `app-version`. */
export const WORKLOAD_LABEL = 'weft.dev/workload'

/** The five labels that describe one side of a call. */
export interface PeerLabels {
  readonly workload: string
  readonly namespace: string
  readonly principal: string
  readonly app: string
  readonly version: string
}

export const UNKNOWN_PEER: PeerLabels = Object.freeze({
  workload: UNKNOWN,
  namespace: UNKNOWN,
  principal: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
})

/** `app` and `version` as Istio reads them from pod labels: the plain labels, then the recommended Kubernetes ones. */
export function appOf(labels: Readonly<Record<string, string>>): string | undefined {
  return labels.app ?? labels['app.kubernetes.io/name']
}

export function versionOf(labels: Readonly<Record<string, string>>): string | undefined {
  return labels.version ?? labels['app.kubernetes.io/version']
}

/**
 * The workload name: Istio reports the Deployment's name, which Bookinfo and most charts spell
 * `app-version` (`reviews-v2`). Weft has no Deployment, so it uses the `weft.dev/workload` label
 * when present, else `app-version`, else `app` — the same rule on both sides of a call, so that
 * a client's `destination_workload` and the server's own `destination_workload` agree.
 */
export function workloadOf(
  labels: Readonly<Record<string, string>>,
  fallbackApp: string | undefined,
): string {
  const named = labels[WORKLOAD_LABEL]
  if (named) return named
  const app = appOf(labels) ?? fallbackApp
  if (!app) return UNKNOWN
  const version = versionOf(labels)
  return version ? `${app}-${version}` : app
}

/** `spiffe://trust-domain/ns/namespace/sa/account`, Istio's principal for a workload with a certificate. */
export function spiffePrincipal(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`
}

/**
 * Istio's metadata exchange, for plaintext calls: the client names its workload in a request
 * header so that the server can report `source_*` labels (Envoy sends `x-envoy-peer-metadata`;
 * Weft sends its own, compact form). Like Istio's, it is informative, not authenticated: with
 * mTLS, the server takes `source_principal` from the certificate instead.
 */
export const PEER_HEADER = 'x-weft-peer'

/** `workload;namespace;app;version`, each part URI-encoded. */
export function encodePeer(peer: PeerLabels): string {
  return [peer.workload, peer.namespace, peer.app, peer.version].map(encodeURIComponent).join(';')
}

// Label values from a header are bounded in length, so that a caller cannot blow up a series with one value.
const MAX_VALUE = 253

export function decodePeer(value: string | undefined, principal: string): PeerLabels | undefined {
  if (!value) return undefined
  const parts = value.split(';')
  if (parts.length !== 4) return undefined
  try {
    const [workload, namespace, app, version] = parts.map((p) => decodeURIComponent(p)) as [
      string,
      string,
      string,
      string,
    ]
    if ([workload, namespace, app, version].some((p) => p.length === 0 || p.length > MAX_VALUE))
      return undefined
    return { workload, namespace, principal, app, version }
  } catch {
    return undefined
  }
}

/** What one request's Istio labels are made of, whichever side reports it. */
export interface RequestLabels {
  readonly reporter: 'source' | 'destination'
  readonly source: PeerLabels
  readonly destination: PeerLabels
  readonly service: { readonly service: string; readonly name: string; readonly namespace: string }
  readonly grpc: boolean
  readonly code: number
  readonly grpcStatus: string
  readonly flags: string
  readonly security: string
}

/** Istio's standard labels of one request, in `ISTIO_LABELS` order. */
export function requestLabels(r: RequestLabels): string[] {
  const labels: string[] = []
  labels[LABEL_INDEX.reporter] = r.reporter
  labels[LABEL_INDEX.source_workload] = r.source.workload
  labels[LABEL_INDEX.source_workload_namespace] = r.source.namespace
  labels[LABEL_INDEX.source_principal] = r.source.principal
  labels[LABEL_INDEX.source_app] = r.source.app
  labels[LABEL_INDEX.source_version] = r.source.version
  labels[LABEL_INDEX.destination_workload] = r.destination.workload
  labels[LABEL_INDEX.destination_workload_namespace] = r.destination.namespace
  labels[LABEL_INDEX.destination_principal] = r.destination.principal
  labels[LABEL_INDEX.destination_app] = r.destination.app
  labels[LABEL_INDEX.destination_version] = r.destination.version
  labels[LABEL_INDEX.destination_service] = r.service.service
  labels[LABEL_INDEX.destination_service_name] = r.service.name
  labels[LABEL_INDEX.destination_service_namespace] = r.service.namespace
  labels[LABEL_INDEX.request_protocol] = r.grpc ? 'grpc' : 'http'
  labels[LABEL_INDEX.response_code] = String(r.code)
  labels[LABEL_INDEX.grpc_response_status] = r.grpcStatus
  labels[LABEL_INDEX.response_flags] = r.flags
  labels[LABEL_INDEX.connection_security_policy] = r.security
  return labels
}
