/** Kubernetes' cluster domain, as Istio assumes unless told otherwise. */
export const DEFAULT_DOMAIN_SUFFIX = 'cluster.local'

/** Turns a host name, as written in a namespace, into the FQDN it means. */
export type HostResolver = (host: string, namespace: string) => string

/**
 * The FQDN a host name means when written in `namespace`, as Kubernetes DNS and Istio read
 * it: `ratings` → `ratings.<namespace>.svc.cluster.local`; `ratings.default.svc` →
 * `ratings.default.svc.cluster.local`; `ratings.default` likewise when `default` is one of
 * `namespaces` (else `db.internal` would be taken for a service); anything else (an external
 * name, a wildcard, an IP) stays as written. Lower-cased: DNS is case-blind.
 */
export function resolveHost(
  host: string,
  namespace: string,
  domainSuffix = DEFAULT_DOMAIN_SUFFIX,
  namespaces?: ReadonlySet<string>,
): string {
  const name = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase()
  if (name === '*' || name.startsWith('*.') || isIPv4Like(name) || name.includes(':')) return name
  const dots = countDots(name)
  if (dots === 0) return `${name}.${namespace}.svc.${domainSuffix}`
  if (dots === 1 && namespaces?.has(name.slice(name.indexOf('.') + 1))) return `${name}.svc.${domainSuffix}`
  if (dots === 2 && name.endsWith('.svc')) return `${name}.${domainSuffix}`
  return name
}

function countDots(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 46) n++
  return n
}

function isIPv4Like(s: string): boolean {
  return /^[\d.]+$/.test(s)
}

/** `reviews.default.svc.cluster.local` → `{ name: 'reviews', namespace: 'default' }`. */
export function splitServiceHost(
  fqdn: string,
  domainSuffix = DEFAULT_DOMAIN_SUFFIX,
): { name: string; namespace: string } | undefined {
  const suffix = `.svc.${domainSuffix}`
  if (!fqdn.endsWith(suffix)) return undefined
  const [name, namespace, extra] = fqdn.slice(0, -suffix.length).split('.')
  return name && namespace && extra === undefined ? { name, namespace } : undefined
}
