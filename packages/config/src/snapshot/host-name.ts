/** Kubernetes' cluster domain, as Istio assumes unless told otherwise. */
export const DEFAULT_DOMAIN_SUFFIX = 'cluster.local'

/**
 * The FQDN a host name means when written in `namespace`, as Kubernetes DNS and Istio read
 * it: `ratings` → `ratings.<namespace>.svc.cluster.local`; `ratings.default` →
 * `ratings.default.svc.cluster.local`; `ratings.default.svc` likewise; anything else (an
 * external name, a wildcard, an IP) stays as written. Lower-cased: DNS is case-blind.
 */
export function resolveHost(host: string, namespace: string, domainSuffix = DEFAULT_DOMAIN_SUFFIX): string {
  const name = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase()
  if (name === '*' || name.startsWith('*.')) return name
  const dots = countDots(name)
  if (dots === 0) return isIPv4Like(name) ? name : `${name}.${namespace}.svc.${domainSuffix}`
  if (dots === 1 && !isIPv4Like(name) && !name.includes(':')) return `${name}.svc.${domainSuffix}`
  if (name.endsWith('.svc')) return `${name}.${domainSuffix}`
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
