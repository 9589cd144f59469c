import { readFile } from 'node:fs/promises'
import { IdentityOptionError } from '../errors.js'
import { svidOf } from './svid.js'
import { trustBundleOf } from './trust-bundle.js'
import {
  type SvidSource,
  type SvidUpdate,
  WorkloadIdentity,
  type WorkloadIdentityOptions,
} from './workload-identity.js'

export interface SvidFilesOptions extends WorkloadIdentityOptions {
  /** The certificate chain, leaf first (SPIRE's `svid.pem`, cert-manager's `tls.crt`). */
  readonly cert: string
  /** Its private key (`svid_key.pem`, `tls.key`). */
  readonly key: string
  /** The trust bundle (`bundle.pem`, `ca.crt`). */
  readonly bundle: string
  /** How often the files are read again. Default 5 s. */
  readonly pollIntervalMs?: number
}

/**
 * A workload identity from files another issuer keeps fresh (SPIRE's helper, cert-manager's
 * csi-driver-spiffe). The files are read again every `pollIntervalMs`: polling sees Kubernetes'
 * symlink swaps and atomic renames alike, where file watching misses some. A set that does not
 * hold together (a certificate written before its key) is not applied; the next read tries again.
 */
export async function watchSvidFiles(options: SvidFilesOptions): Promise<WorkloadIdentity> {
  const pollMs = options.pollIntervalMs ?? 5000
  if (!Number.isFinite(pollMs) || pollMs <= 0) {
    throw new IdentityOptionError('pollIntervalMs', 'a positive number of ms', pollMs)
  }
  const where = `files ${options.cert}, ${options.key}, ${options.bundle}`
  // The contents last applied, and last refused: a refused set is reported once, not every poll.
  let applied = ''
  let refused = ''
  const read = async (nowMs: number, force: boolean): Promise<SvidUpdate | undefined> => {
    const [cert, key, bundle] = await Promise.all([
      readFile(options.cert, 'utf8'),
      readFile(options.key, 'utf8'),
      readFile(options.bundle, 'utf8'),
    ])
    const contents = `${cert}\0${key}\0${bundle}`
    if (!force && (contents === applied || contents === refused)) return undefined
    try {
      const update = { svid: svidOf(cert, key, where, nowMs), trustBundlePem: trustBundleOf(bundle, where) }
      applied = contents
      return update
    } catch (error) {
      refused = contents
      throw error
    }
  }
  const source: SvidSource = {
    cause: 'files',
    fetch: (nowMs) => read(nowMs, false),
    nextFetchAtMs: (_current, nowMs) => nowMs + pollMs,
    retryDelayMs: () => pollMs,
  }
  const clock = options.clock ?? Date.now
  const first = (await read(clock(), true))!
  return new WorkloadIdentity({ svid: first.svid, trustBundlePem: first.trustBundlePem! }, source, options)
}
