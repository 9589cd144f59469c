import {
  type AttributeMatcher,
  claimMatcher,
  headerMatcher,
  hostMatcher,
  ipMatcher,
  type MatcherOrUnevaluable,
  methodMatcher,
  namespaceMatcher,
  pathMatcher,
  portMatcher,
  principalMatcher,
  requestPrincipalMatcher,
  serviceAccountMatcher,
  sniMatcher,
  trustDomainMatcher,
  Unevaluable,
} from './authorization-matchers.js'
import { CompiledRule, Condition, type IndexAttribute, type PolicyRef } from './compiled-rule.js'
import { DESTINATION_IP, REMOTE_IP, SOURCE_IP } from './request-view.js'
import { asciiLowerCase } from './string-pattern.js'

type Make = (value: string, policy: PolicyRef) => MatcherOrUnevaluable

interface FieldSpec {
  /** The field's name without `not`, for descriptions. */
  readonly key: string
  readonly negated: boolean
  readonly make: Make
  readonly index?: IndexAttribute
}

function positive(key: string, make: Make, index?: IndexAttribute): FieldSpec {
  return index ? { key, negated: false, make, index } : { key, negated: false, make }
}

function negative(key: string, make: Make): FieldSpec {
  return { key, negated: true, make }
}

const serviceAccount: Make = (value, policy) => serviceAccountMatcher(policy.namespace, value)
const sourceIp: Make = (value) => ipMatcher(SOURCE_IP, value)
const remoteIp: Make = (value) => ipMatcher(REMOTE_IP, value)
const destinationIp: Make = (value) => ipMatcher(DESTINATION_IP, value)

const SOURCE_FIELDS: Readonly<Record<string, FieldSpec>> = {
  principals: positive('principals', principalMatcher, 'principal'),
  notPrincipals: negative('principals', principalMatcher),
  requestPrincipals: positive('requestPrincipals', requestPrincipalMatcher),
  notRequestPrincipals: negative('requestPrincipals', requestPrincipalMatcher),
  namespaces: positive('namespaces', namespaceMatcher),
  notNamespaces: negative('namespaces', namespaceMatcher),
  serviceAccounts: positive('serviceAccounts', serviceAccount),
  notServiceAccounts: negative('serviceAccounts', serviceAccount),
  trustDomains: positive('trustDomains', trustDomainMatcher),
  notTrustDomains: negative('trustDomains', trustDomainMatcher),
  ipBlocks: positive('ipBlocks', sourceIp),
  notIpBlocks: negative('ipBlocks', sourceIp),
  remoteIpBlocks: positive('remoteIpBlocks', remoteIp),
  notRemoteIpBlocks: negative('remoteIpBlocks', remoteIp),
}

const OPERATION_FIELDS: Readonly<Record<string, FieldSpec>> = {
  paths: positive('paths', pathMatcher, 'path'),
  notPaths: negative('paths', pathMatcher),
  hosts: positive('hosts', hostMatcher, 'host'),
  notHosts: negative('hosts', hostMatcher),
  methods: positive('methods', methodMatcher),
  notMethods: negative('methods', methodMatcher),
  ports: positive('ports', portMatcher),
  notPorts: negative('ports', portMatcher),
}

/** `when` keys with a fixed name (Istio's model.go attributes). */
const WHEN_KEYS: Readonly<Record<string, Make>> = {
  'source.ip': sourceIp,
  'remote.ip': remoteIp,
  'source.namespace': namespaceMatcher,
  'source.serviceAccount': serviceAccount,
  'source.trustDomain': trustDomainMatcher,
  'source.principal': principalMatcher,
  'request.auth.principal': requestPrincipalMatcher,
  'request.auth.audiences': (value) => claimMatcher('request.auth.audiences', ['aud'], value),
  'request.auth.presenter': (value) => claimMatcher('request.auth.presenter', ['azp'], value),
  'destination.ip': destinationIp,
  'destination.port': portMatcher,
  'connection.sni': sniMatcher,
}

/** `[NAME]`, as Istio's extractNameInBrackets reads it; undefined if malformed or empty. */
function bracketName(text: string): string | undefined {
  if (text.length < 3 || !text.startsWith('[') || !text.endsWith(']')) return undefined
  return text.slice(1, -1)
}

/** `[a][b]` → [a, b], as Istio's extractNameInNestedBrackets; `[a.b]` is one claim, `a.b`. */
function nestedBracketNames(text: string): string[] | undefined {
  const names: string[] = []
  let begin = 0
  while (begin < text.length) {
    let end = -1
    for (let i = begin + 1; text[begin] === '[' && i < text.length && text[i] !== '['; i++) {
      if (text[i] === ']') {
        end = i
        break
      }
    }
    if (end < 0) {
      const whole = bracketName(text)
      return whole === undefined ? undefined : [whole]
    }
    names.push(text.slice(begin + 1, end))
    begin = end + 1
  }
  return names.length > 0 && !names.includes('') ? names : undefined
}

/** The matcher factory for a `when` key, in Istio's model.New order, or why Weft has none. */
function whenKey(key: string): Make | Unevaluable {
  if (Object.hasOwn(WHEN_KEYS, key)) return WHEN_KEYS[key] as Make
  if (key.startsWith('experimental.envoy.filters.')) {
    return new Unevaluable('it reads Envoy filter metadata, which Weft does not have')
  }
  if (key.startsWith('request.headers')) {
    const name = bracketName(key.slice('request.headers'.length))
    if (name === undefined) return new Unevaluable('expected request.headers[NAME]')
    const lowerCase = asciiLowerCase(name)
    return (value) => headerMatcher(lowerCase, value)
  }
  if (key.startsWith('request.auth.claims')) {
    const path = nestedBracketNames(key.slice('request.auth.claims'.length))
    if (path === undefined) return new Unevaluable('expected request.auth.claims[NAME] or [NAME][NESTED]')
    return (value) => claimMatcher(key, path, value)
  }
  return new Unevaluable('unknown attribute')
}

/**
 * Compiles one rule of one policy into `to`, `from` and `when` conditions (Istio's
 * model.New). What Weft cannot evaluate — an unknown field or `when` key, Envoy filter
 * metadata, a value that is not a port, CIDR block or path template — fails closed, after
 * Istio's rule for values it cannot translate (model.go `checkError`):
 * - in an ALLOW rule it makes the rule match nothing (undefined is returned);
 * - in a DENY, AUDIT or CUSTOM rule it counts as matching: a `values` list holding it holds,
 *   a `notValues` entry is left out, so the rule matches whenever the rest of it does.
 * `note` gets one line per such value, and for a null rule, which Istio skips.
 */
export function compileRule(
  policy: PolicyRef,
  index: number,
  ordinal: number,
  rule: unknown,
  note: (message: string) => void,
): CompiledRule | undefined {
  const where = `${policy.key} rules[${index}]`
  if (rule === null || typeof rule !== 'object') {
    note(`${where}: not a rule; it never matches, as Istio skips a nil rule`)
    return undefined
  }
  const parts = rule as Readonly<Record<string, unknown>>
  const allow = policy.action === 'ALLOW'
  let never = false
  const unevaluable = (at: string, value: unknown, reason: string): void => {
    never ||= allow
    const effect = allow ? 'the ALLOW rule matches nothing' : 'it counts as matching'
    note(
      `${where}: ${at} ${JSON.stringify(value) ?? String(value)} cannot be evaluated (${reason}); ${effect}`,
    )
  }

  const condition = (at: string, spec: FieldSpec, values: unknown): Condition | undefined => {
    if (values === undefined || values === null) return undefined
    if (!Array.isArray(values)) {
      unevaluable(at, values, 'not a list')
      return undefined
    }
    const matchers: AttributeMatcher[] = []
    let unknown = false
    for (const value of values) {
      const matcher =
        typeof value === 'string' && value !== ''
          ? spec.make(value, policy)
          : new Unevaluable('not a non-empty string')
      if (matcher instanceof Unevaluable) {
        unevaluable(at, value, matcher.reason)
        unknown = true
      } else {
        matchers.push(matcher)
      }
    }
    if ((unknown && !spec.negated) || matchers.length === 0) return undefined
    return new Condition(spec.key, matchers, spec.negated, spec.negated ? undefined : spec.index)
  }

  const alternatives = (
    name: 'from' | 'to',
    inner: 'source' | 'operation',
    specs: Readonly<Record<string, FieldSpec>>,
  ): Condition[][] => {
    const entries = parts[name]
    if (entries === undefined || entries === null) return []
    if (!Array.isArray(entries)) {
      unevaluable(name, entries, 'not a list')
      return []
    }
    return entries.map((entry: unknown, i) => {
      const at = `${name}[${i}].${inner}`
      const fields: unknown =
        entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>)[inner] : entry
      if (fields === undefined) return []
      if (fields === null || typeof fields !== 'object') {
        unevaluable(at, fields, 'not an object')
        return []
      }
      const conditions: Condition[] = []
      for (const [field, values] of Object.entries(fields)) {
        const spec = Object.hasOwn(specs, field) ? specs[field] : undefined
        if (!spec) {
          unevaluable(`${at}.${field}`, values, 'unknown field')
          continue
        }
        const compiled = condition(`${at}.${field}`, spec, values)
        if (compiled) conditions.push(compiled)
      }
      return conditions
    })
  }

  const to = alternatives('to', 'operation', OPERATION_FIELDS)
  const from = alternatives('from', 'source', SOURCE_FIELDS)
  const when: Condition[] = []
  const entries = parts.when
  if (Array.isArray(entries)) {
    entries.forEach((entry: unknown, i) => {
      const { key, values, notValues } = (entry ?? {}) as {
        key?: unknown
        values?: unknown
        notValues?: unknown
      }
      const at = typeof key === 'string' ? `when[${i}] ${key}` : `when[${i}]`
      const make = typeof key === 'string' ? whenKey(key) : new Unevaluable('no key')
      if (make instanceof Unevaluable && values === undefined && notValues === undefined) {
        unevaluable(at, entry, make.reason)
        return
      }
      const factory: Make = make instanceof Unevaluable ? () => make : make
      const label = typeof key === 'string' ? key : at
      for (const compiled of [
        condition(at, positive(label, factory), values),
        condition(at, negative(label, factory), notValues),
      ]) {
        if (compiled) when.push(compiled)
      }
    })
  } else if (entries !== undefined && entries !== null) {
    unevaluable('when', entries, 'not a list')
  }
  return never ? undefined : new CompiledRule(policy, index, ordinal, to, from, when)
}
