import { InvalidSpiffeIdError } from '../errors.js'

/** A SPIFFE ID, split: `spiffe://<trustDomain><path>`. */
export interface SpiffeId {
  readonly trustDomain: string
  /** Empty for the trust domain itself, else `/segment/…`. */
  readonly path: string
  /** The whole ID, as written in a certificate's URI SAN. */
  readonly uri: string
}

/** The namespace and service account an Istio-style workload ID (`/ns/NS/sa/SA`) names. */
export interface WorkloadName {
  readonly namespace: string
  readonly serviceAccount: string
}

const SCHEME = 'spiffe://'
// The SPIFFE-ID specification bounds an ID to 2048 bytes and its characters to these sets;
// both are plain ASCII, so a character count is a byte count.
const MAX_LENGTH = 2048
const TRUST_DOMAIN = /^[a-z0-9._-]+$/
const SEGMENT = /^[A-Za-z0-9._-]+$/

/** Why `value` is not a SPIFFE ID, or undefined when it is one. */
function problemOf(value: string): string | undefined {
  if (value.length > MAX_LENGTH) return `longer than ${MAX_LENGTH} bytes`
  if (!value.startsWith(SCHEME)) return 'the scheme must be "spiffe://" in lower case'
  const rest = value.slice(SCHEME.length)
  const slash = rest.indexOf('/')
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash)
  if (trustDomain === '') return 'the trust domain is empty'
  if (!TRUST_DOMAIN.test(trustDomain)) {
    return 'the trust domain may hold only lower-case letters, digits, ".", "-" and "_" (no port, user or query)'
  }
  if (slash === -1) return undefined
  for (const segment of rest.slice(slash + 1).split('/')) {
    if (segment === '') return 'the path has an empty segment (or a trailing "/")'
    if (segment === '.' || segment === '..') return 'the path has a "." or ".." segment'
    if (!SEGMENT.test(segment)) return 'path segments may hold only letters, digits, ".", "-" and "_"'
  }
  return undefined
}

/** Parses and checks a SPIFFE ID; throws `InvalidSpiffeIdError` saying what is wrong. */
export function parseSpiffeId(value: string): SpiffeId {
  const problem = problemOf(value)
  if (problem) throw new InvalidSpiffeIdError(value, problem)
  const rest = value.slice(SCHEME.length)
  const slash = rest.indexOf('/')
  return Object.freeze({
    trustDomain: slash === -1 ? rest : rest.slice(0, slash),
    path: slash === -1 ? '' : rest.slice(slash),
    uri: value,
  })
}

/** Whether `value` is a well-formed SPIFFE ID. */
export function isSpiffeId(value: string): boolean {
  return problemOf(value) === undefined
}

/**
 * The SPIFFE ID Istio gives a workload: `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`.
 * Each name must be one path segment: a `/` in a namespace would forge another workload's ID.
 */
export function workloadSpiffeId(trustDomain: string, name: WorkloadName): SpiffeId {
  const uri = `${SCHEME}${trustDomain}/ns/${name.namespace}/sa/${name.serviceAccount}`
  for (const [what, segment] of [
    ['namespace', name.namespace],
    ['service account', name.serviceAccount],
  ] as const) {
    if (!SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new InvalidSpiffeIdError(
        uri,
        `the ${what} must be one path segment of letters, digits, ".", "-" and "_"`,
      )
    }
  }
  return parseSpiffeId(uri)
}

/** The namespace and service account of an Istio-style workload ID, or undefined for other paths. */
export function workloadNameOf(id: SpiffeId): WorkloadName | undefined {
  const parts = id.path.split('/')
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') return undefined
  return { namespace: parts[2]!, serviceAccount: parts[4]! }
}

/** Istio's `source.principal`: the SPIFFE ID without its scheme (`cluster.local/ns/NS/sa/SA`). */
export function principalOfId(id: SpiffeId): string {
  return id.trustDomain + id.path
}
