import { EventEmitter } from 'node:events'
import { createSecureContext, type SecureContext } from 'node:tls'
import type { Svid } from './svid.js'
import { trustBundleOf } from './trust-bundle.js'

/** What changed a workload's credentials. */
export type RotationCause = 'renewal' | 'files' | 'trust-bundle'

export interface RotationEvent {
  readonly cause: RotationCause
  readonly previous: Svid
  readonly current: Svid
}

/** A refresh that failed; the current certificate stays in use and another try is scheduled. */
export interface RenewalFailure {
  readonly error: unknown
  /** Failures in a row, this one included. */
  readonly failures: number
  readonly retryInMs: number
}

export interface WorkloadIdentityEvents {
  rotated: [RotationEvent]
  renewalFailed: [RenewalFailure]
}

/** What a refresh brings: a new SVID, and with it a new trust bundle if the source carries one. */
export interface SvidUpdate {
  readonly svid: Svid
  readonly trustBundlePem?: string
}

/**
 * Where a workload's SVID comes from and when to look again: the mesh CA (`createWorkloadIdentity`),
 * files (`watchSvidFiles`), or any other issuer written to this shape.
 */
export interface SvidSource {
  readonly cause: 'renewal' | 'files'
  /** A fresh SVID, or undefined when nothing changed. Rejects when it cannot get a usable one. */
  fetch(nowMs: number): Promise<SvidUpdate | undefined>
  /** When to fetch next after a success (or an unchanged look). */
  nextFetchAtMs(current: Svid, nowMs: number): number
  /** How long to wait after `failures` failures in a row. */
  retryDelayMs(failures: number): number
}

export interface WorkloadIdentityOptions {
  /** Trust domains accepted besides the SVID's own (Istio's `trustDomainAliases`). */
  readonly trustDomainAliases?: readonly string[]
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly clock?: () => number
}

/** Node's timers overflow past 2^31-1 ms (about 24.8 days) and then fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * A workload's identity as TLS uses it: its current SVID (key and certificate chain) and the trust
 * bundle it verifies peers with, kept fresh by its source. A refresh that fails never drops the
 * certificate in use; it is retried, and reported as `renewalFailed`. Every change is reported as
 * `rotated` after `secureContext` and `tlsOptions()` give the new credentials, so that a listener
 * can hand them to `tls.Server.setSecureContext`. `close()` stops every timer.
 *
 * Made by `createWorkloadIdentity` or `watchSvidFiles`.
 */
export class WorkloadIdentity extends EventEmitter<WorkloadIdentityEvents> {
  readonly #source: SvidSource
  readonly #clock: () => number
  readonly #aliases: readonly string[]
  #svid: Svid
  #trustBundlePem: string
  #trustDomains: ReadonlySet<string>
  #context: SecureContext
  #timer: NodeJS.Timeout | undefined
  #failures = 0
  /** The last PEM `setTrustBundle` was given, as given. */
  #trustBundleInput: string | undefined
  #closed = false

  constructor(
    initial: SvidUpdate & { trustBundlePem: string },
    source: SvidSource,
    options: WorkloadIdentityOptions = {},
  ) {
    super()
    this.#source = source
    this.#clock = options.clock ?? Date.now
    this.#aliases = options.trustDomainAliases ?? []
    this.#svid = initial.svid
    this.#trustBundlePem = trustBundleOf(initial.trustBundlePem, 'the initial trust bundle')
    this.#trustDomains = this.#domainsFor(initial.svid)
    this.#context = this.#contextFor(initial.svid, this.#trustBundlePem)
    this.#scheduleAt(source.nextFetchAtMs(initial.svid, this.#clock()))
  }

  /** The SVID in use. */
  get svid(): Svid {
    return this.#svid
  }

  /** The roots peers must chain to, PEM. */
  get trustBundlePem(): string {
    return this.#trustBundlePem
  }

  /** The SVID's trust domain and its aliases: the only ones a peer may come from. */
  get trustDomains(): ReadonlySet<string> {
    return this.#trustDomains
  }

  /** Key, chain and trust bundle as one `tls.SecureContext`, for `tls.connect({ secureContext })`. */
  get secureContext(): SecureContext {
    return this.#context
  }

  /** The same credentials as PEM, for `tls.createServer` and `tls.Server.setSecureContext`. */
  tlsOptions(): { key: string; cert: string; ca: string } {
    return { key: this.#svid.keyPem, cert: this.#svid.certChainPem, ca: this.#trustBundlePem }
  }

  /**
   * Replaces the trust bundle (it travels with the snapshot). Throws `TrustBundleInvalidError`
   * and keeps the old one if the new one holds no CA certificate.
   */
  setTrustBundle(pem: string): void {
    // Every snapshot carries the bundle; parsing it again when it has not changed is waste.
    if (pem === this.#trustBundleInput) return
    this.#trustBundleInput = pem
    const bundle = trustBundleOf(pem, 'setTrustBundle')
    if (bundle === this.#trustBundlePem) return
    this.#install(this.#svid, bundle, this.#contextFor(this.#svid, bundle), 'trust-bundle')
  }

  /** Stops refreshing. The credentials stay readable; nothing changes them any more. */
  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #domainsFor(svid: Svid): ReadonlySet<string> {
    return new Set([svid.spiffeId.trustDomain, ...this.#aliases])
  }

  #contextFor(svid: Svid, bundle: string): SecureContext {
    return createSecureContext({ key: svid.keyPem, cert: svid.certChainPem, ca: bundle })
  }

  #install(svid: Svid, bundle: string, context: SecureContext, cause: RotationCause): void {
    const previous = this.#svid
    this.#svid = svid
    this.#trustBundlePem = bundle
    this.#trustDomains = this.#domainsFor(svid)
    this.#context = context
    this.emit('rotated', { cause, previous, current: svid })
  }

  #scheduleAt(atMs: number): void {
    if (this.#closed) return
    const delay = Math.min(Math.max(0, atMs - this.#clock()), MAX_TIMER_MS)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      if (this.#clock() < atMs && delay === MAX_TIMER_MS) this.#scheduleAt(atMs)
      else void this.#refresh()
    }, delay)
    // A process that has nothing else to do may exit; its listeners keep it alive when serving.
    this.#timer.unref()
  }

  async #refresh(): Promise<void> {
    let next: { svid: Svid; bundle: string; context: SecureContext } | undefined
    try {
      const update = await this.#source.fetch(this.#clock())
      if (update) {
        const bundle =
          update.trustBundlePem === undefined
            ? this.#trustBundlePem
            : trustBundleOf(update.trustBundlePem, 'the SVID source')
        next = { svid: update.svid, bundle, context: this.#contextFor(update.svid, bundle) }
      }
    } catch (error) {
      if (this.#closed) return
      this.#failures++
      const retryInMs = this.#source.retryDelayMs(this.#failures)
      this.#scheduleAt(this.#clock() + retryInMs)
      this.emit('renewalFailed', { error, failures: this.#failures, retryInMs })
      return
    }
    if (this.#closed) return
    this.#failures = 0
    // Scheduled before listeners hear of the change, so that one that throws cannot stop renewal.
    this.#scheduleAt(this.#source.nextFetchAtMs(next?.svid ?? this.#svid, this.#clock()))
    if (next) this.#install(next.svid, next.bundle, next.context, this.#source.cause)
  }
}
