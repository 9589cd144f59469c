import type { CompiledVirtualService, Snapshot } from '@weft/config'
import { splitAuthority } from './route-request.js'

/** What an authority means to callers in one namespace: resolved once per snapshot. */
export interface HostRoute {
  /** The FQDN addressed. */
  readonly host: string
  /** The host part as written (redirects keep it). */
  readonly hostname: string
  readonly port: number
  readonly virtualService: CompiledVirtualService | undefined
}

// A few authorities per caller is the common case; a caller that addresses unbounded distinct
// hosts (an egress proxy, say) keeps at most this many and starts over.
const LIMIT = 10_000
const memo = new WeakMap<Snapshot, Map<string, Map<string, HostRoute>>>()

/**
 * The host, port and VirtualService for an authority written by a caller in `namespace`. The
 * answer depends only on the snapshot, so it is kept with it: the second request to a host costs
 * two map probes instead of a host resolution and an index walk.
 */
export function hostRoute(
  snapshot: Snapshot,
  authority: string,
  scheme: string,
  namespace: string,
): HostRoute {
  let byNamespace = memo.get(snapshot)
  if (!byNamespace) {
    byNamespace = new Map()
    memo.set(snapshot, byNamespace)
  }
  let byAuthority = byNamespace.get(namespace)
  if (!byAuthority) {
    byAuthority = new Map()
    byNamespace.set(namespace, byAuthority)
  }
  const key = scheme === 'https' ? `https:${authority}` : authority
  let route = byAuthority.get(key)
  if (!route) {
    const [hostname, port] = splitAuthority(authority, scheme)
    const host = snapshot.resolveHost(hostname, namespace)
    route = Object.freeze({
      host,
      hostname,
      port,
      virtualService: snapshot.virtualServiceFor(host, namespace),
    })
    if (byAuthority.size >= LIMIT) byAuthority.clear()
    byAuthority.set(key, route)
  }
  return route
}
