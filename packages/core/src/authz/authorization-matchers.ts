import { CidrRange } from './ip-address.js'
import { compilePathTemplate, isPathTemplate, type PathTemplate } from './path-template.js'
import { type IpAttribute, REMOTE_IP, type RequestView, SOURCE_IP } from './request-view.js'
import {
  asciiLowerCase,
  escapeRegExp,
  exactPattern,
  headerPattern,
  NON_EMPTY,
  prefixPattern,
  type StringPattern,
  stringPattern,
  suffixPattern,
} from './string-pattern.js'

/**
 * One value of one AuthorizationPolicy field or `when` key, compiled into the test Envoy runs
 * for it (the generators of pilot/pkg/security/authz/model/generator.go).
 */
export interface AttributeMatcher {
  matches(view: RequestView): boolean
  /** A pattern that the path, host or principal of every matching request satisfies. */
  readonly indexPattern?: IndexPattern
  toString(): string
}

export interface IndexPattern {
  readonly kind: 'exact' | 'prefix' | 'suffix'
  readonly value: string
}

/** A value Weft cannot evaluate; why, for the authorizer's notes. */
export class Unevaluable {
  constructor(readonly reason: string) {}
}

export type MatcherOrUnevaluable = AttributeMatcher | Unevaluable

function indexable(pattern: StringPattern): IndexPattern | undefined {
  const { kind, value } = pattern
  return kind === 'exact' || kind === 'prefix' || kind === 'suffix' ? { kind, value } : undefined
}

class PathMatcher implements AttributeMatcher {
  readonly indexPattern: IndexPattern | undefined
  constructor(readonly pattern: StringPattern) {
    this.indexPattern = indexable(pattern)
  }
  matches(view: RequestView): boolean {
    return this.pattern.test(view.request.path)
  }
  toString(): string {
    return `path ${this.pattern}`
  }
}

class PathTemplateMatcher implements AttributeMatcher {
  readonly indexPattern: IndexPattern
  constructor(readonly template: PathTemplate) {
    this.indexPattern = { kind: 'prefix', value: template.literalPrefix }
  }
  matches(view: RequestView): boolean {
    return this.template.test(view.request.path)
  }
  toString(): string {
    return `path ${this.template}`
  }
}

class MethodMatcher implements AttributeMatcher {
  constructor(readonly pattern: StringPattern) {}
  matches(view: RequestView): boolean {
    return this.pattern.test(view.request.method)
  }
  toString(): string {
    return `method ${this.pattern}`
  }
}

class HostMatcher implements AttributeMatcher {
  readonly indexPattern: IndexPattern | undefined
  constructor(readonly pattern: StringPattern) {
    this.indexPattern = indexable(pattern)
  }
  matches(view: RequestView): boolean {
    return this.pattern.test(view.hostLowerCase())
  }
  toString(): string {
    return `host ${this.pattern} (ignoring case)`
  }
}

class PortMatcher implements AttributeMatcher {
  constructor(readonly port: number) {}
  matches(view: RequestView): boolean {
    return view.request.destination.port === this.port
  }
  toString(): string {
    return `port ${this.port}`
  }
}

class HeaderMatcher implements AttributeMatcher {
  constructor(
    readonly name: string,
    readonly pattern: StringPattern,
  ) {}
  matches(view: RequestView): boolean {
    return this.pattern.test(view.header(this.name))
  }
  toString(): string {
    return `header ${this.name} ${this.pattern}`
  }
}

class SniMatcher implements AttributeMatcher {
  constructor(readonly pattern: StringPattern) {}
  matches(view: RequestView): boolean {
    return this.pattern.test(view.request.sni)
  }
  toString(): string {
    return `sni ${this.pattern}`
  }
}

class PrincipalMatcher implements AttributeMatcher {
  readonly indexPattern: IndexPattern | undefined
  constructor(readonly pattern: StringPattern) {
    this.indexPattern = indexable(pattern)
  }
  matches(view: RequestView): boolean {
    return this.pattern.test(view.request.source.principal)
  }
  toString(): string {
    return `principal ${this.pattern}`
  }
}

/** A test on the peer principal that Istio writes as a regex over the SPIFFE URI. */
class PrincipalRegexMatcher implements AttributeMatcher {
  constructor(
    readonly label: string,
    readonly regex: RegExp,
  ) {}
  matches(view: RequestView): boolean {
    const principal = view.request.source.principal
    return principal !== undefined && this.regex.test(principal)
  }
  toString(): string {
    return this.label
  }
}

/**
 * An exact namespace: Istio's regex `.*\/ns/NS/.*` over `spiffe://PRINCIPAL` finds `/ns/NS/`
 * anywhere, including right after the scheme's `//`.
 */
class NamespaceMatcher implements AttributeMatcher {
  readonly #atStart: string
  readonly #inside: string
  constructor(readonly namespace: string) {
    this.#atStart = `ns/${namespace}/`
    this.#inside = `/ns/${namespace}/`
  }
  matches(view: RequestView): boolean {
    const principal = view.request.source.principal
    return (
      principal !== undefined && (principal.startsWith(this.#atStart) || principal.includes(this.#inside))
    )
  }
  toString(): string {
    return `namespace ${JSON.stringify(this.namespace)}`
  }
}

class IpMatcher implements AttributeMatcher {
  constructor(
    readonly attribute: IpAttribute,
    readonly range: CidrRange,
  ) {}
  matches(view: RequestView): boolean {
    return this.range.contains(view.ipVersion(this.attribute), view.ipWords(this.attribute))
  }
  toString(): string {
    const name =
      this.attribute === SOURCE_IP
        ? 'source.ip'
        : this.attribute === REMOTE_IP
          ? 'remote.ip'
          : 'destination.ip'
    return `${name} in ${this.range}`
  }
}

/**
 * A JWT claim, as Istio's `MetadataListValueMatcherForJWTClaims` matches it: a string claim
 * matches the pattern, a list claim matches if one of its strings does; numbers, booleans and
 * objects match nothing (Envoy's string matchers see only strings).
 */
class ClaimMatcher implements AttributeMatcher {
  constructor(
    readonly label: string,
    readonly path: readonly string[],
    readonly pattern: StringPattern,
  ) {}
  matches(view: RequestView): boolean {
    const value = view.claim(this.path)
    if (typeof value === 'string') return this.pattern.test(value)
    if (!Array.isArray(value)) return false
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      if (typeof item === 'string' && this.pattern.test(item)) return true
    }
    return false
  }
  toString(): string {
    return `${this.label} ${this.pattern}`
  }
}

const ISS = ['iss'] as const
const SUB = ['sub'] as const

/** `iss/sub`: Istio matches the two claims separately, each a string. */
class RequestPrincipalMatcher implements AttributeMatcher {
  constructor(
    readonly value: string,
    readonly issuer: StringPattern,
    readonly subject: StringPattern,
  ) {}
  matches(view: RequestView): boolean {
    const iss = view.claim(ISS)
    if (typeof iss !== 'string' || !this.issuer.test(iss)) return false
    const sub = view.claim(SUB)
    return typeof sub === 'string' && this.subject.test(sub)
  }
  toString(): string {
    return `request principal ${JSON.stringify(this.value)} (iss ${this.issuer}, sub ${this.subject})`
  }
}

export function pathMatcher(value: string): MatcherOrUnevaluable {
  if (!isPathTemplate(value)) return new PathMatcher(stringPattern(value))
  const template = compilePathTemplate(value)
  return template ? new PathTemplateMatcher(template) : new Unevaluable('not a valid path template')
}

export function methodMatcher(value: string): AttributeMatcher {
  return new MethodMatcher(headerPattern(value))
}

export function hostMatcher(value: string): AttributeMatcher {
  return new HostMatcher(headerPattern(asciiLowerCase(value)))
}

/** Istio's `convertToPort`: a decimal up to 65535. */
export function portMatcher(value: string): MatcherOrUnevaluable {
  return /^\d+$/.test(value) && Number(value) <= 65535
    ? new PortMatcher(Number(value))
    : new Unevaluable('not a port')
}

export function headerMatcher(name: string, value: string): AttributeMatcher {
  return new HeaderMatcher(name, headerPattern(value))
}

export function sniMatcher(value: string): AttributeMatcher {
  return new SniMatcher(stringPattern(value))
}

/** `StringMatcherWithPrefix(value, "spiffe://")`: `*` is `.+` over the URI, so any peer identity. */
export function principalMatcher(value: string): AttributeMatcher {
  return new PrincipalMatcher(headerPattern(value))
}

export function namespaceMatcher(value: string): AttributeMatcher {
  if (!value.includes('*')) return new NamespaceMatcher(value)
  const pattern = value.split('*').map(escapeRegExp).join('[^\\n]*')
  return new PrincipalRegexMatcher(`namespace ${JSON.stringify(value)}`, new RegExp(`(?:^|/)ns/${pattern}/`))
}

/**
 * `NS/SA`, or `SA` in the policy's namespace; Istio's regex
 * `spiffe://.+/ns/NS/(.+/|)sa/SA(/.+)?` admits extra path segments around `sa/SA`.
 */
export function serviceAccountMatcher(policyNamespace: string, value: string): AttributeMatcher {
  const slash = value.indexOf('/')
  const namespace = slash < 0 ? policyNamespace : value.slice(0, slash)
  const account = slash < 0 ? value : value.slice(slash + 1)
  const regex = new RegExp(
    `^[^\\n]+/ns/${escapeRegExp(namespace)}/(?:[^\\n]+/|)sa/${escapeRegExp(account)}(?:/[^\\n]+)?$`,
  )
  return new PrincipalRegexMatcher(`service account ${JSON.stringify(`${namespace}/${account}`)}`, regex)
}

/** Exact, `*` (any SPIFFE identity), or one `*` inside the trust domain (`[^/]*`). */
export function trustDomainMatcher(value: string): AttributeMatcher {
  const label = `trust domain ${JSON.stringify(value)}`
  if (value === '*') return new PrincipalRegexMatcher(label, /^/)
  if (!value.includes('*')) return new PrincipalRegexMatcher(label, new RegExp(`^${escapeRegExp(value)}/`))
  const star = value.indexOf('*')
  const regex = `^${escapeRegExp(value.slice(0, star))}[^/]*${escapeRegExp(value.slice(star + 1))}/`
  return new PrincipalRegexMatcher(label, new RegExp(regex))
}

export function ipMatcher(attribute: IpAttribute, value: string): MatcherOrUnevaluable {
  const range = CidrRange.parse(value)
  return range ? new IpMatcher(attribute, range) : new Unevaluable('not an IP address or CIDR block')
}

export function claimMatcher(label: string, path: readonly string[], value: string): AttributeMatcher {
  return new ClaimMatcher(label, path, stringPattern(value))
}

/**
 * Istio's `requestPrincipalGenerator`: split at the last `/` (issuers are often URLs), then
 * `*` anywhere but alone widens only the side it is on.
 */
export function requestPrincipalMatcher(value: string): AttributeMatcher {
  const slash = value.lastIndexOf('/')
  const found = slash >= 0
  const iss = found ? value.slice(0, slash) : value
  const sub = found ? value.slice(slash + 1) : ''
  let issuer: StringPattern
  let subject: StringPattern
  if (value === '*') {
    issuer = NON_EMPTY
    subject = NON_EMPTY
  } else if (value.startsWith('*')) {
    if (found) {
      issuer = iss === '*' ? NON_EMPTY : suffixPattern(iss.slice(1))
      subject = exactPattern(sub)
    } else {
      issuer = NON_EMPTY
      subject = suffixPattern(value.slice(1))
    }
  } else if (value.endsWith('*')) {
    if (found) {
      issuer = exactPattern(iss)
      subject = sub === '*' ? NON_EMPTY : prefixPattern(sub.slice(0, -1))
    } else {
      issuer = prefixPattern(value.slice(0, -1))
      subject = NON_EMPTY
    }
  } else {
    issuer = exactPattern(iss)
    subject = exactPattern(sub)
  }
  return new RequestPrincipalMatcher(value, issuer, subject)
}
