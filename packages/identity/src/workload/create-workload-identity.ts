import { CertificateRequestError, IdentityOptionError } from '../errors.js'
import { createKeyAndRequest } from './certificate-request.js'
import { renewalTimeMs, retryDelayMs } from './renewal-schedule.js'
import { type Svid, svidOf } from './svid.js'
import { type SvidSource, WorkloadIdentity, type WorkloadIdentityOptions } from './workload-identity.js'

export interface CaWorkloadIdentityOptions extends WorkloadIdentityOptions {
  /**
   * Sends a PEM certificate signing request to the CA and resolves to the PEM chain it issued:
   * the control plane's seam (which authenticates this workload); in tests, a local
   * `CertificateAuthority`'s `sign`.
   */
  readonly requestCertificate: (csrPem: string) => Promise<string>
  /** The mesh's roots, PEM; later replaced with `setTrustBundle` as snapshots bring them. */
  readonly trustBundle: string
  /** Fraction of a certificate's lifetime after which it is renewed. Default 0.5, Istio's. */
  readonly renewAtFraction?: number
  /** First retry delay after a failed renewal, doubling on each failure. Default 1 s. */
  readonly retryInitialDelayMs?: number
  /** Longest retry delay. Default 30 s. */
  readonly retryMaxDelayMs?: number
  /** Uniform in [0, 1), for retry jitter. Default `Math.random`. */
  readonly random?: () => number
}

function positive(option: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isFinite(v) || v <= 0) throw new IdentityOptionError(option, 'a positive number', v)
  return v
}

/**
 * A workload identity issued by the mesh CA: makes a P-256 key and a CSR, asks for a
 * certificate, and renews it (with a new key each time) at half its lifetime. Rejects with
 * `CertificateRequestError` if the first certificate cannot be had; after that a failed renewal
 * keeps the current certificate and retries with back-off until one succeeds or `close()`.
 */
export async function createWorkloadIdentity(options: CaWorkloadIdentityOptions): Promise<WorkloadIdentity> {
  const fraction = options.renewAtFraction ?? 0.5
  if (!(fraction > 0 && fraction < 1)) {
    throw new IdentityOptionError('renewAtFraction', 'between 0 and 1, exclusive', fraction)
  }
  const initialDelay = positive('retryInitialDelayMs', options.retryInitialDelayMs, 1000)
  const maxDelay = positive('retryMaxDelayMs', options.retryMaxDelayMs, 30_000)
  const random = options.random ?? Math.random
  const received = new WeakMap<Svid, number>()
  const source: SvidSource = {
    cause: 'renewal',
    async fetch(nowMs) {
      const { keyPem, csrPem } = await createKeyAndRequest()
      let chainPem: string
      try {
        chainPem = await options.requestCertificate(csrPem)
      } catch (cause) {
        throw new CertificateRequestError({ cause })
      }
      const svid = svidOf(chainPem, keyPem, 'the CA', nowMs)
      received.set(svid, nowMs)
      return { svid }
    },
    nextFetchAtMs(current, nowMs) {
      return renewalTimeMs(current, received.get(current) ?? nowMs, fraction)
    },
    retryDelayMs: (failures) => retryDelayMs(failures, initialDelay, maxDelay, random),
  }
  const clock = options.clock ?? Date.now
  const first = await source.fetch(clock())
  return new WorkloadIdentity({ svid: first!.svid, trustBundlePem: options.trustBundle }, source, options)
}
