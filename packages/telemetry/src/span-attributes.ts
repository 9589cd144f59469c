import type { Attributes } from '@opentelemetry/api'

/** Envoy's request id header: generated when absent, carried to every call made for the request. */
export const REQUEST_ID_HEADER = 'x-request-id'

/** The VirtualService rule that routed a call (`VirtualService/ns/name#http[i]`). */
export const WEFT_RULE = 'weft.rule'
/** Envoy's response flags the mesh set (`UH`, `UO,URX`). */
export const WEFT_FLAGS = 'weft.response_flags'

// OpenTelemetry's RPC conventions are still incubating: their names are written out here, as the
// semantic-conventions package advises, rather than imported from its unstable entry point.
const RPC_SYSTEM = 'rpc.system'
const RPC_SERVICE = 'rpc.service'
const RPC_METHOD = 'rpc.method'
export const RPC_GRPC_STATUS_CODE = 'rpc.grpc.status_code'

/** `rpc.*` attributes of a gRPC method path (`/bookinfo.Reviews/Get`). */
export function rpcAttributes(path: string): Attributes {
  const slash = path.lastIndexOf('/')
  return {
    [RPC_SYSTEM]: 'grpc',
    [RPC_SERVICE]: path.slice(1, slash),
    [RPC_METHOD]: path.slice(slash + 1),
  }
}

/** Host and port of an authority; the port is the scheme's default when absent. */
export function splitAuthority(
  authority: string,
  scheme: string,
): { host: string; port: number | undefined } {
  const colon = authority.lastIndexOf(':')
  const bracket = authority.lastIndexOf(']')
  if (colon > bracket && colon > 0) {
    const port = Number(authority.slice(colon + 1))
    return { host: authority.slice(0, colon), port: Number.isInteger(port) ? port : undefined }
  }
  return { host: authority, port: scheme === 'https' ? 443 : scheme === 'http' ? 80 : undefined }
}
