import type { ConnectionOptions, PeerCertificate, SecureContext } from 'node:tls'
import { PeerCertificateRefusedError } from '../errors.js'
import { parseSpiffeId } from '../spiffe/spiffe-id.js'
import type { WorkloadIdentity } from '../workload/workload-identity.js'
import { checkPeerSvid } from './peer-svid.js'

export interface MtlsClientSettings {
  /**
   * SPIFFE IDs the server may present (Istio's `subjectAltNames`, or the service accounts of the
   * destination's endpoints). Empty or absent: any workload of the mesh's trust domains.
   */
  readonly expectedIds?: readonly string[]
}

/** TLS options for a client connection over mutual TLS; `secureContext` wins over the PEM fields. */
export interface MtlsConnectionOptions extends ConnectionOptions {
  readonly secureContext: SecureContext
  readonly key: string
  readonly cert: string
  readonly ca: string
  readonly rejectUnauthorized: true
  readonly checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined
}

/**
 * Options for `tls.connect` or an undici connector that dial a mesh workload over mutual TLS:
 * present this workload's SVID, verify the server's chain against the trust bundle, and check the
 * server's SPIFFE ID (against `expectedIds`) instead of its host name. Call it per connection
 * (or on each `rotated` event): it reads the identity's current credentials. The check returns a
 * `PeerCertificateRefusedError` whose `reason` says which rule the server broke.
 */
export function mtlsClientOptions(
  identity: WorkloadIdentity,
  settings: MtlsClientSettings = {},
): MtlsConnectionOptions {
  const expectedIds = new Set(settings.expectedIds?.map((id) => parseSpiffeId(id).uri))
  const { key, cert, ca } = identity.tlsOptions()
  return {
    secureContext: identity.secureContext,
    key,
    cert,
    ca,
    rejectUnauthorized: true,
    checkServerIdentity(_host, peer) {
      const verdict = checkPeerSvid(peer, { trustDomains: identity.trustDomains, expectedIds })
      return verdict.ok ? undefined : new PeerCertificateRefusedError(verdict.reason, verdict.detail)
    },
  }
}
