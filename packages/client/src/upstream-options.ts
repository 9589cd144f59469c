import type { PoolLimits } from '@weft/core'
import { type Agent, Pool } from 'undici'

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

  set(endpoint: string, limits: PoolLimits): void {
    this.#byEndpoint.set(endpoint, limits)
  }

  /** An Agent `factory`: a Pool per origin with its endpoint's options over the Agent's own. */
  readonly factory = (origin: string | URL, agentOptions: Agent.Options): Pool => {
    const text = String(origin)
    const limits = this.#byEndpoint.get(text.slice(text.indexOf('://') + 3))
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
}
