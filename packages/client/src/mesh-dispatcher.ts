import type { WorkloadIdentity } from '@weft/identity'
import { Agent, type Dispatcher } from 'undici'
import { type MeshInterceptorOptions, meshInterceptor } from './mesh-interceptor.js'
import { UpstreamOptions } from './upstream-options.js'

export interface MeshDispatcherOptions extends MeshInterceptorOptions {
  /** Options for the Agent underneath (connection pools per origin). */
  readonly agent?: Agent.Options
  /**
   * This workload's certificate, when it has one: endpoints that accept Istio's mutual TLS (auto
   * mTLS) or a DestinationRule's `ISTIO_MUTUAL` are then dialled with it.
   */
  readonly identity?: () => WorkloadIdentity | undefined
}

/**
 * `mesh.dispatcher`: an undici Agent with the mesh's interceptors composed on it. The order of
 * interceptors is declared here, and only here.
 */
export function createMeshDispatcher(options: MeshDispatcherOptions): Dispatcher {
  const upstreams = new UpstreamOptions(options.identity)
  return new Agent({ ...options.agent, factory: upstreams.factory }).compose(
    meshInterceptor({ ...options, upstreams }),
  )
}
