/** What one SDK instance reported last: Envoy's ACK/NACK, as `weft status` shows it. */
export interface WorkloadStatus {
  readonly instance: string
  readonly service: string
  readonly namespace: string
  readonly labels: Readonly<Record<string, string>>
  /** The version the control plane last sent it. */
  sent: number
  /** The last version it applied. */
  applied: number | undefined
  /** ACK: `sent` is applied. NACK: `sent` was refused (`reason`), `applied` stays in force. */
  state: 'PENDING' | 'ACK' | 'NACK'
  reason: string | undefined
  connected: boolean
  lastSeenMs: number
}

/** The instances that watch this replica, and what each did with its last snapshot. */
export class WorkloadStatuses {
  readonly #byInstance = new Map<string, WorkloadStatus>()

  connected(
    instance: string,
    service: string,
    namespace: string,
    labels: Readonly<Record<string, string>>,
  ): WorkloadStatus {
    const existing = this.#byInstance.get(instance)
    const status: WorkloadStatus = existing ?? {
      instance,
      service,
      namespace,
      labels,
      sent: 0,
      applied: undefined,
      state: 'PENDING',
      reason: undefined,
      connected: true,
      lastSeenMs: Date.now(),
    }
    status.connected = true
    status.lastSeenMs = Date.now()
    this.#byInstance.set(instance, status)
    return status
  }

  disconnected(instance: string): void {
    const status = this.#byInstance.get(instance)
    if (!status) return
    status.connected = false
    status.lastSeenMs = Date.now()
  }

  sent(instance: string, version: number): void {
    const status = this.#byInstance.get(instance)
    if (!status) return
    status.sent = version
    if (status.applied !== version) status.state = 'PENDING'
  }

  /** The instance applied `version`, or refused it with `reason`. False for an unknown instance. */
  report(instance: string, version: number, reason: string | undefined): WorkloadStatus | undefined {
    const status = this.#byInstance.get(instance)
    if (!status) return undefined
    status.lastSeenMs = Date.now()
    if (reason === undefined) {
      status.applied = version
      if (version >= status.sent) {
        status.state = 'ACK'
        status.reason = undefined
      }
    } else {
      status.state = 'NACK'
      status.reason = reason
    }
    return status
  }

  get(instance: string): WorkloadStatus | undefined {
    return this.#byInstance.get(instance)
  }

  list(namespace?: string): WorkloadStatus[] {
    return [...this.#byInstance.values()].filter((s) => namespace === undefined || s.namespace === namespace)
  }
}
