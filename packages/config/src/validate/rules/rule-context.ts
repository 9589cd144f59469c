import type { PathSegment, Severity } from '../../model/diagnostic.js'
import { compileRe2 } from '../../snapshot/re2.js'

export interface RuleIssue {
  readonly severity: Severity
  readonly path: PathSegment[]
  readonly message: string
  /** The path is from the document's root, not from `spec`. */
  readonly rooted?: boolean
}

/** Collects what one kind's semantic rules find; rules never throw. */
export class RuleContext {
  readonly issues: RuleIssue[] = []

  error(path: PathSegment[], message: string): void {
    this.issues.push({ severity: 'error', path, message })
  }

  warn(path: PathSegment[], message: string): void {
    this.issues.push({ severity: 'warning', path, message })
  }

  /** An error about a field outside `spec` (an annotation, say). */
  errorAt(path: PathSegment[], message: string): void {
    this.issues.push({ severity: 'error', path, message, rooted: true })
  }
}

const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/i
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

export function isIPv4(text: string): boolean {
  return IPV4.test(text)
}

export function isIPv6(text: string): boolean {
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(':')) return false
  return URL.canParse(`http://[${text}]/`)
}

export function isIP(text: string): boolean {
  return isIPv4(text) || isIPv6(text)
}

/** An IP address or a CIDR block, as AuthorizationPolicy's ipBlocks and ServiceEntry's addresses take. */
export function isIPOrCIDR(text: string): boolean {
  const [ip, bits, extra] = text.split('/')
  if (extra !== undefined || !ip) return false
  if (!isIP(ip)) return false
  if (bits === undefined) return true
  if (!/^\d{1,3}$/.test(bits)) return false
  return Number(bits) <= (isIPv4(ip) ? 32 : 128)
}

/**
 * A DNS name, optionally with one leading `*` label, as Istio's host fields take: FQDN or
 * short name, 255 characters at most, labels of 63.
 */
export function hostProblem(host: string, wildcard: boolean): string | undefined {
  if (host.length === 0) return 'host must not be empty'
  if (host === '*') return wildcard ? undefined : 'wildcard host "*" is not allowed here'
  if (host.length > 255) return `host "${host}" is longer than 255 characters`
  let name = host
  if (name.startsWith('*')) {
    if (!wildcard) return `wildcard host "${host}" is not allowed here`
    if (!name.startsWith('*.'))
      return `host "${host}": a wildcard must be a whole leading label ("*.example.com")`
    name = name.slice(2)
  }
  if (name.endsWith('.')) name = name.slice(0, -1)
  for (const label of name.split('.')) {
    if (label === '*') return `host "${host}": "*" may only be the first label`
    if (!DNS_LABEL.test(label) || label.length > 63) {
      return `host "${host}" is not a valid DNS name (label "${label}")`
    }
  }
  return undefined
}

export function checkHost(ctx: RuleContext, path: PathSegment[], host: string, wildcard = true): void {
  const problem = hostProblem(host, wildcard)
  if (problem) ctx.error(path, problem)
}

/** Istio compiles its regexes with RE2: refuse what RE2 refuses (look-around, back-references). */
export function regexProblem(pattern: string): string | undefined {
  try {
    compileRe2(pattern)
    return undefined
  } catch (e) {
    return `invalid RE2 regex ${JSON.stringify(pattern)}: ${(e as Error).message}`
  }
}

export function checkRegex(ctx: RuleContext, path: PathSegment[], pattern: string | undefined): void {
  if (pattern === undefined) return
  const problem = regexProblem(pattern)
  if (problem) ctx.error(path, problem)
}

export function checkPercent(ctx: RuleContext, path: PathSegment[], value: number | undefined): void {
  if (value === undefined) return
  if (!(value >= 0 && value <= 100)) ctx.error(path, `percentage must be in [0, 100], got ${value}`)
}

export function checkPort(ctx: RuleContext, path: PathSegment[], port: number | undefined): void {
  if (port === undefined) return
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535))
    ctx.error(path, `port must be in 1-65535, got ${port}`)
}

const LABEL_NAME = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/

/** Kubernetes label syntax: `[prefix/]name` keys of 63 characters, values of 63. */
export function checkLabels(
  ctx: RuleContext,
  path: PathSegment[],
  labels: Record<string, string> | undefined,
): void {
  if (!labels) return
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.lastIndexOf('/')
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined
    const name = slash >= 0 ? key.slice(slash + 1) : key
    if (prefix !== undefined && hostProblem(prefix, false)) {
      ctx.error([...path, key], `label key "${key}": prefix must be a DNS subdomain`)
    } else if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
      ctx.error(
        [...path, key],
        `invalid label key "${key}": 63 characters at most, alphanumeric, "-", "_" or "." inside`,
      )
    }
    if (typeof value === 'string' && (value.length > 63 || !LABEL_VALUE.test(value))) {
      ctx.error(
        [...path, key],
        `invalid label value "${value}": 63 characters at most, alphanumeric, "-", "_" or "." inside`,
      )
    }
  }
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** An HTTP field name (RFC 9110's token). */
export function isHeaderName(name: string): boolean {
  return HEADER_NAME.test(name)
}

export function checkHeaderName(ctx: RuleContext, path: PathSegment[], name: string): void {
  if (name.length === 0) ctx.error(path, 'header name must not be empty')
  else if (!isHeaderName(name)) ctx.error(path, `header name ${name} is not a valid header name`)
}

/** `PROTOCOL[-suffix]` port names, as Istio and Kubernetes write them. */
export function checkPortName(ctx: RuleContext, path: PathSegment[], name: string | undefined): void {
  if (name === undefined || name === '') return
  if (name.length > 63 || !/^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/i.test(name)) {
    ctx.error(path, `invalid port name "${name}": a DNS label of 63 characters at most`)
  }
}
