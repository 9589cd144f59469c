import type { RequestListener } from 'node:http'
import { networkInterfaces } from 'node:os'
import type { Snapshot } from '@weft/config'
import {
  type MtlsMode,
  mergePeerAuthentication,
  peerAuthenticationFor,
  type WorkloadPeerAuthentication,
} from '@weft/core'
import type { WorkloadIdentity } from '@weft/identity'
import { createInboundListener, type InboundListener } from '@weft/server'

/** What `mesh.listen()` serves: a Node handler, an Express app, or Fastify (after `ready()`, its `routing`). */
export type ListenHandler = RequestListener | { readonly routing: RequestListener }

export interface ListenOptions {
  /** Default 0: a free port. */
  readonly port?: number
  /** Default `0.0.0.0`. */
  readonly host?: string
  /**
   * The address other instances reach this one at, as registered with the control plane
   * (`WEFT_ADDRESS`). Default: `host` when it names one, else the first non-internal IPv4
   * address, else 127.0.0.1.
   */
  readonly address?: string
}

export interface MeshListener {
  readonly port: number
  readonly address: string
  close(): Promise<void>
}

function advertisedAddress(options: ListenOptions): string {
  const given = options.address ?? process.env.WEFT_ADDRESS
  if (given) return given
  if (options.host && options.host !== '0.0.0.0' && options.host !== '::') return options.host
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return '127.0.0.1'
}

/**
 * The PeerAuthentication mode of each port, merged once per snapshot for this workload (mesh,
 * namespace, workload and port scopes) and looked up per connection.
 */
export function peerAuthenticationModes(
  snapshot: () => Snapshot,
  namespace: string,
  labels: Readonly<Record<string, string>>,
): (port: number) => MtlsMode {
  let version: string | undefined
  let merged: WorkloadPeerAuthentication | undefined
  return (port) => {
    const current = snapshot()
    if (current.version !== version || !merged) {
      merged = mergePeerAuthentication(
        current.policiesFor(namespace, labels).peerAuthentication,
        current.rootNamespace,
      )
      version = current.version
    }
    return peerAuthenticationFor(merged, port).mode
  }
}

/** Opens the listener; the caller registers the endpoint. */
export async function openListener(
  handler: ListenHandler,
  options: ListenOptions,
  mtlsMode: (port: number) => MtlsMode,
  identity: WorkloadIdentity | undefined,
): Promise<{ listener: InboundListener; port: number; address: string }> {
  const listen = typeof handler === 'function' ? handler : handler.routing
  const listener = createInboundListener(listen, { mtlsMode, ...(identity ? { identity } : {}) })
  const bound = await listener.listen(options.port ?? 0, options.host ?? '0.0.0.0')
  return { listener, port: bound.port, address: advertisedAddress(options) }
}
