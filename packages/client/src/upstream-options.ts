import type { PoolLimits } from '@weft/core'
import { mtlsClientOptions, type WorkloadIdentity } from '@weft/identity'
import { type Agent, buildConnector, Pool } from 'undici'

// Envoy's "unlimited", as core's poolLimits writes an unset threshold.
const UNLIMITED = 2 ** 32 - 1

/**
 * The undici Pool options each upstream endpoint (`address:port`) gets from the
 * DestinationRule of the cluster it serves: the connection cap, connect timeout, idle timeout
 * and requests per connection. Clusters write them when they take in a snapshot; the Agent's
 * factory reads them when it opens a pool to the endpoint. A pool keeps the options it was
 * opened with until the Agent retires it (when its last connection closes), so a changed
 * `connectionPool` reaches busy endpoints once their connections cycle.
 */
export class UpstreamOptions {
  readonly #byEndpoint = new Map<string, PoolLimits>()
  /** Who a mutual-TLS endpoint must be: its namespace and service account, when known. */
  readonly #peers = new Map<string, { namespace?: string; serviceAccount?: string }>()
  readonly #identity: (() => WorkloadIdentity | undefined) | undefined

  /** `identity`: this workload's certificate, for endpoints reached over Istio's mutual TLS. */
  constructor(identity?: () => WorkloadIdentity | undefined) {
    this.#identity = identity
  }

  set(endpoint: string, limits: PoolLimits): void {
    this.#byEndpoint.set(endpoint, limits)
  }

  /**
   * The endpoint is dialled with mutual TLS (an `https://` origin). Its certificate must name
   * `serviceAccount` in `namespace` when the registry knows them, else any workload of the
   * trust domain: Istio checks the destination's service accounts the same way.
   */
  setMutualTls(endpoint: string, peer: { namespace?: string; serviceAccount?: string }): void {
    this.#peers.set(endpoint, peer)
  }

  /** Whether this workload can speak Istio's mutual TLS at all (it has a certificate). */
  get canMutualTls(): boolean {
    return this.#identity?.() !== undefined
  }

  /** An Agent `factory`: a Pool per origin with its endpoint's options over the Agent's own. */
  readonly factory = (origin: string | URL, agentOptions: Agent.Options): Pool => {
    const text = String(origin)
    const endpoint = text.slice(text.indexOf('://') + 3)
    const limits = this.#byEndpoint.get(endpoint)
    const mutual = text.startsWith('https://') ? this.#peers.get(endpoint) : undefined
    if (mutual) {
      return new Pool(origin, {
        ...agentOptions,
        ...this.#poolOptions(limits),
        connect: this.#mutualTls(mutual, limits),
      })
    }
    if (!limits) return new Pool(origin, agentOptions)
    const connect = agentOptions.connect
    return new Pool(origin, {
      ...agentOptions,
      ...(limits.maxConnections < UNLIMITED ? { connections: limits.maxConnections } : {}),
      // A connector object the application gave the Agent keeps its settings; the timeout is the DestinationRule's.
      ...(typeof connect === 'function' ? {} : { connect: { ...connect, timeout: limits.connectTimeoutMs } }),
      ...(limits.idleTimeoutMs !== undefined ? { keepAliveTimeout: limits.idleTimeoutMs } : {}),
      ...(limits.maxRequestsPerConnection > 0
        ? { maxRequestsPerClient: limits.maxRequestsPerConnection }
        : {}),
    })
  }

  #poolOptions(limits: PoolLimits | undefined): Pool.Options {
    if (!limits) return {}
    return {
      ...(limits.maxConnections < UNLIMITED ? { connections: limits.maxConnections } : {}),
      ...(limits.idleTimeoutMs !== undefined ? { keepAliveTimeout: limits.idleTimeoutMs } : {}),
      ...(limits.maxRequestsPerConnection > 0
        ? { maxRequestsPerClient: limits.maxRequestsPerConnection }
        : {}),
    }
  }

  /**
   * A connector that presents this workload's current certificate on each new connection (so a
   * rotation reaches the next one) and checks the server's SPIFFE ID, not its host name. No TLS
   * session reuse: a resumed session would skip that check.
   */
  #mutualTls(
    peer: { namespace?: string; serviceAccount?: string },
    limits: PoolLimits | undefined,
  ): buildConnector.connector {
    const timeout = limits?.connectTimeoutMs ?? 10_000
    return (options, callback) => {
      const identity = this.#identity?.()
      if (!identity) {
        callback(new Error('weft: this workload has no certificate for mutual TLS'), null)
        return
      }
      const expectedIds =
        peer.namespace && peer.serviceAccount
          ? [...identity.trustDomains].map(
              (domain) => `spiffe://${domain}/ns/${peer.namespace}/sa/${peer.serviceAccount}`,
            )
          : []
      const tls = mtlsClientOptions(identity, { expectedIds })
      buildConnector({ ...tls, timeout, maxCachedSessions: 0 })(options, callback)
    }
  }
}
