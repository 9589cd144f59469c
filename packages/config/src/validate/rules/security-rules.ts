import type {
  AuthorizationPolicySpec,
  PeerAuthenticationSpec,
  RequestAuthenticationSpec,
} from '../../generated/istio-types.js'
import type { PathSegment } from '../../model/diagnostic.js'
import { checkHeaderName, isIPOrCIDR, type RuleContext } from './rule-context.js'
import { checkSelector } from './workload-selector.js'

type Rule = NonNullable<AuthorizationPolicySpec['rules']>[number]
type Source = NonNullable<NonNullable<Rule['from']>[number]['source']>
type Operation = NonNullable<NonNullable<Rule['to']>[number]['operation']>

/** `when` keys Istio accepts, besides the `name[...]` forms below. */
const WHEN_KEYS = new Set([
  'source.ip',
  'remote.ip',
  'destination.ip',
  'source.namespace',
  'source.serviceAccount',
  'source.principal',
  'source.trustDomain',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'destination.port',
  'connection.sni',
])
const WHEN_MAP_KEYS = ['request.headers', 'request.auth.claims', 'experimental.envoy.filters']
const CUSTOM_UNSUPPORTED_SOURCE = [
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
  'trustDomains',
  'notTrustDomains',
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
] as const
const CUSTOM_UNSUPPORTED_WHEN = [
  'source.namespace',
  'source.serviceAccount',
  'source.trustDomain',
  'source.principal',
]

/** `name[a]` or `name[a][b]` (nested claims): a prefix, then bracketed non-empty keys. */
function isMapKey(key: string, prefix: string): boolean {
  if (!key.startsWith(`${prefix}[`)) return false
  return /^(?:\[[^[\]]+\])+$/.test(key.slice(prefix.length))
}

function checkWhenKey(ctx: RuleContext, path: PathSegment[], key: string): void {
  if (key === '') {
    ctx.error(path, '`key` must not be empty')
    return
  }
  if (WHEN_KEYS.has(key)) return
  const map = WHEN_MAP_KEYS.find((p) => key.startsWith(p))
  if (map) {
    if (!isMapKey(key, map)) ctx.error(path, `bad key (${key}): should have format a[b]`)
    return
  }
  if (key === 'destination.namespace') {
    ctx.error(path, `attribute ${key} is replaced by the metadata.namespace`)
    return
  }
  if (key.startsWith('destination.labels')) {
    ctx.error(path, `attribute ${key} is replaced by the workload selector`)
    return
  }
  if (key === 'destination.name' || key === 'destination.user') {
    ctx.error(path, `deprecated attribute ${key}: only supported in v1alpha1`)
    return
  }
  ctx.error(path, `unknown attribute: ${key}`)
}

function checkServiceAccount(ctx: RuleContext, path: PathSegment[], value: string, field: string): void {
  if (value.includes('*')) ctx.error(path, `wildcard not allowed, found in ${field}`)
  else if (value.split('/').length > 2 || value.split('/').some((p) => p === '')) {
    ctx.error(
      path,
      `expected format 'serviceAccount' or 'namespace/serviceAccount', found "${value}" in ${field}`,
    )
  } else if (value.length > 320) ctx.error(path, `value cannot exceed 320 characters, found in ${field}`)
}

function checkTrustDomain(ctx: RuleContext, path: PathSegment[], value: string, field: string): void {
  const stars = value.split('*').length - 1
  if (stars > 1) ctx.error(path, `at most one wildcard is allowed, found in ${field}: "${value}"`)
  else if (stars === 1 && !value.startsWith('*') && !value.endsWith('*')) {
    ctx.error(path, `wildcard is only allowed at the start or end, found in ${field}: "${value}"`)
  }
  if (value.includes('/')) ctx.error(path, `trust domain must not contain '/', found in ${field}: "${value}"`)
}

function checkPortString(ctx: RuleContext, path: PathSegment[], value: string, field: string): void {
  if (!/^\d+$/.test(value) || Number(value) > 65535) ctx.error(path, `bad port (${field}): ${value}`)
}

/**
 * Istio matches `*` only as a whole path, a prefix (`/api/*`) or a suffix (`*.png`); a `*`
 * elsewhere is compared literally, which is almost never what the author meant. Path templates
 * (`{*}`, `{**}`) follow Istio's rules.
 */
function checkPathPattern(ctx: RuleContext, path: PathSegment[], value: string, field: string): void {
  if (value.includes('{') || value.includes('}')) {
    const segments = value.split('/')
    const doubleAt = segments.indexOf('{**}')
    // Literals may follow {**} (Istio's own tests use /store/{**}/cart); operators may not.
    if (doubleAt >= 0 && segments.slice(doubleAt + 1).some((s) => s === '{*}' || s === '{**}')) {
      ctx.error(
        path,
        `invalid or unsupported path ${value}, found in ${field}. {**} is not the last operator`,
      )
    } else if (segments.some((s) => s !== '{*}' && s !== '{**}' && /[{}]/.test(s))) {
      ctx.error(
        path,
        `invalid or unsupported path ${value}, found in ${field}. Contains '{' or '}' beyond a supported path template`,
      )
    }
    return
  }
  const inner = value.slice(1, -1)
  if (value.length > 1 && inner.includes('*')) {
    ctx.warn(
      path,
      `"${value}" in ${field}: "*" is only a wildcard as the whole path, a prefix ("/api/*") or a suffix ("*.png"); here it is matched literally`,
    )
  }
}

function checkValues(
  ctx: RuleContext,
  path: PathSegment[],
  field: string,
  values: string[] | undefined,
  each?: (at: PathSegment[], v: string) => void,
) {
  values?.forEach((value, i) => {
    const at = [...path, field, i]
    if (value === '') ctx.error(at, `empty value not allowed, found in ${field}`)
    else each?.(at, value)
  })
}

function checkSource(
  ctx: RuleContext,
  path: PathSegment[],
  source: Source,
  rule: number,
  custom: boolean,
): void {
  if (Object.keys(source).length === 0) {
    ctx.error(path, `\`from.source\` must not be empty, found at rule ${rule}`)
    return
  }
  if (
    (source.serviceAccounts || source.notServiceAccounts) &&
    (source.principals || source.notPrincipals || source.namespaces || source.notNamespaces)
  ) {
    ctx.error(path, `cannot set serviceAccounts with namespaces or principals, found at rule ${rule}`)
  }
  const cidr = (at: PathSegment[], v: string) => {
    if (!isIPOrCIDR(v)) ctx.error(at, v.includes('/') ? `bad CIDR range (${v})` : `bad IP address (${v})`)
  }
  for (const field of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const)
    checkValues(ctx, path, field, source[field], cidr)
  for (const field of ['serviceAccounts', 'notServiceAccounts'] as const) {
    if ((source[field]?.length ?? 0) > 16)
      ctx.error([...path, field], `may not have more than 16 values, found in ${field}`)
    checkValues(ctx, path, field, source[field], (at, v) => checkServiceAccount(ctx, at, v, field))
  }
  for (const field of ['trustDomains', 'notTrustDomains'] as const) {
    checkValues(ctx, path, field, source[field], (at, v) => checkTrustDomain(ctx, at, v, field))
  }
  for (const field of [
    'principals',
    'notPrincipals',
    'requestPrincipals',
    'notRequestPrincipals',
    'namespaces',
    'notNamespaces',
  ] as const) {
    checkValues(ctx, path, field, source[field])
  }
  if (custom) {
    for (const field of CUSTOM_UNSUPPORTED_SOURCE) {
      if (source[field] !== undefined)
        ctx.error([...path, field], `${field} is currently not supported with CUSTOM action`)
    }
  }
}

function checkOperation(ctx: RuleContext, path: PathSegment[], op: Operation, rule: number): void {
  if (Object.keys(op).length === 0) {
    ctx.error(path, `\`to.operation\` must not be empty, found at rule ${rule}`)
    return
  }
  for (const field of ['ports', 'notPorts'] as const)
    checkValues(ctx, path, field, op[field], (at, v) => checkPortString(ctx, at, v, field))
  for (const field of ['paths', 'notPaths'] as const)
    checkValues(ctx, path, field, op[field], (at, v) => checkPathPattern(ctx, at, v, field))
  for (const field of ['hosts', 'notHosts', 'methods', 'notMethods'] as const)
    checkValues(ctx, path, field, op[field])
}

export function authorizationPolicyRules(spec: AuthorizationPolicySpec, ctx: RuleContext): void {
  const action = spec.action ?? 'ALLOW'
  checkSelector(ctx, ['selector', 'matchLabels'], spec.selector?.matchLabels, spec.selector !== undefined)
  if (spec.targetRef?.namespace)
    ctx.error(
      ['targetRef', 'namespace'],
      'targetRef namespace must not be set; cross namespace referencing is not supported',
    )
  if (action === 'CUSTOM' || action === 'DENY') {
    if (spec.rules === undefined) {
      ctx.error(
        ['rules'],
        `${action} action without \`rules\` is meaningless as it will never be triggered, add an empty rule \`{}\` if you want it be triggered for every request`,
      )
    }
  }
  if (action === 'CUSTOM' && spec.rules !== undefined && !spec.provider?.name)
    ctx.error(['provider', 'name'], '`provider.name` must not be empty')
  if (action !== 'CUSTOM' && spec.provider !== undefined)
    ctx.error(['provider'], `\`provider\` must not be with non CUSTOM action, found ${action}`)
  const custom = action === 'CUSTOM'
  spec.rules?.forEach((rule, r) => {
    const at = ['rules', r]
    if (rule === null) {
      ctx.error(at, `\`rule\` must not be nil, found at rule ${r}`)
      return
    }
    if (rule.from && rule.from.length === 0)
      ctx.error([...at, 'from'], `\`from\` must not be empty, found at rule ${r}`)
    rule.from?.forEach((from, i) => {
      if (!from?.source) ctx.error([...at, 'from', i], `\`from.source\` must not be nil, found at rule ${r}`)
      else checkSource(ctx, [...at, 'from', i, 'source'], from.source, r, custom)
    })
    if (rule.to && rule.to.length === 0)
      ctx.error([...at, 'to'], `\`to\` must not be empty, found at rule ${r}`)
    rule.to?.forEach((to, i) => {
      if (!to?.operation) ctx.error([...at, 'to', i], `\`to.operation\` must not be nil, found at rule ${r}`)
      else checkOperation(ctx, [...at, 'to', i, 'operation'], to.operation, r)
    })
    rule.when?.forEach((when, i) => {
      const wat = [...at, 'when', i]
      if (when === null) {
        ctx.error(wat, 'when field cannot be nil')
        return
      }
      checkWhenKey(ctx, [...wat, 'key'], when.key)
      if (!when.values?.length && !when.notValues?.length)
        ctx.error(wat, `at least one of \`values\` or \`notValues\` must be set for key ${when.key}`)
      if (custom && (CUSTOM_UNSUPPORTED_WHEN.includes(when.key) || when.key.startsWith('request.auth.'))) {
        ctx.error([...wat, 'key'], `${when.key} is currently not supported with CUSTOM action`)
      }
      if (['source.ip', 'remote.ip', 'destination.ip'].includes(when.key)) {
        for (const field of ['values', 'notValues'] as const) {
          when[field]?.forEach((v, j) => {
            if (!isIPOrCIDR(v))
              ctx.error(
                [...wat, field, j],
                `invalid \`${field === 'values' ? 'value' : 'notValue'}\` for \`key\` ${when.key}: bad IP address or CIDR (${v})`,
              )
          })
        }
      }
      if (when.key === 'destination.port') {
        for (const field of ['values', 'notValues'] as const) {
          when[field]?.forEach((v, j) => {
            checkPortString(ctx, [...wat, field, j], v, when.key)
          })
        }
      }
    })
  })
}

export function requestAuthenticationRules(spec: RequestAuthenticationSpec, ctx: RuleContext): void {
  checkSelector(ctx, ['selector', 'matchLabels'], spec.selector?.matchLabels, spec.selector !== undefined)
  spec.jwtRules?.forEach((rule, i) => {
    const at = ['jwtRules', i]
    const jwksUri = rule.jwksUri ?? rule.jwks_uri
    if (!rule.issuer && !jwksUri) ctx.error(at, 'issuer or jwksUri must be non-empty string')
    rule.audiences?.forEach((aud, j) => {
      if (aud === '') ctx.error([...at, 'audiences', j], 'audience must be non-empty string')
    })
    if (jwksUri !== undefined) {
      const field = rule.jwksUri !== undefined ? 'jwksUri' : 'jwks_uri'
      if (!URL.canParse(jwksUri)) ctx.error([...at, field], `jwksUri "${jwksUri}" is not a URL`)
      else {
        const scheme = new URL(jwksUri).protocol.slice(0, -1)
        if (scheme !== 'http' && scheme !== 'https')
          ctx.error([...at, field], `URI scheme "${scheme}" is not supported`)
      }
    }
    if (rule.jwks !== undefined) checkJwks(ctx, [...at, 'jwks'], rule.jwks)
    rule.fromHeaders?.forEach((h, j) => {
      if (!h.name)
        ctx.error([...at, 'fromHeaders', j, 'name'], 'location header name must be non-empty string')
      else checkHeaderName(ctx, [...at, 'fromHeaders', j, 'name'], h.name)
    })
    rule.fromParams?.forEach((p, j) => {
      if (!p) ctx.error([...at, 'fromParams', j], 'location query must be non-empty string')
    })
    rule.fromCookies?.forEach((c, j) => {
      if (!c) ctx.error([...at, 'fromCookies', j], 'cookie name must be non-empty string')
    })
    rule.outputClaimToHeaders?.forEach((o, j) => {
      const oat = [...at, 'outputClaimToHeaders', j]
      if (!o.header || !o.claim)
        ctx.error(oat, 'outputClaimToHeaders header and claim value must be non-empty string')
      else if (!/^[-_A-Za-z0-9]+$/.test(o.header))
        ctx.error([...oat, 'header'], `header name ${o.header} is not a valid header name`)
    })
    if (rule.outputPayloadToHeader !== undefined && rule.outputPayloadToHeader !== '') {
      checkHeaderName(ctx, [...at, 'outputPayloadToHeader'], rule.outputPayloadToHeader)
    }
  })
}

/** Inline JWKS must be a JSON Web Key Set; Weft verifies with public keys only. */
function checkJwks(ctx: RuleContext, path: PathSegment[], text: string): void {
  let set: unknown
  try {
    set = JSON.parse(text)
  } catch (e) {
    ctx.error(path, `jwks parse error: ${(e as Error).message}`)
    return
  }
  const keys = (set as { keys?: unknown })?.keys
  if (!Array.isArray(keys)) {
    ctx.error(path, 'jwks parse error: a JSON Web Key Set needs a "keys" list')
    return
  }
  keys.forEach((key, i) => {
    if (typeof key !== 'object' || key === null || typeof (key as { kty?: unknown }).kty !== 'string') {
      ctx.error(path, `jwks parse error: key at index ${i} has no "kty"`)
    } else if ('d' in key) {
      ctx.warn(
        path,
        `jwks key at index ${i} contains private key material; only public keys are used for verification`,
      )
    }
  })
}

export function peerAuthenticationRules(spec: PeerAuthenticationSpec, ctx: RuleContext): void {
  checkSelector(ctx, ['selector', 'matchLabels'], spec.selector?.matchLabels, spec.selector !== undefined)
  if (spec.portLevelMtls === undefined) return
  if (!Object.keys(spec.selector?.matchLabels ?? {}).length) {
    ctx.error(['portLevelMtls'], 'mesh/namespace peer authentication cannot have port level mTLS')
  }
  if (Object.keys(spec.portLevelMtls).length === 0)
    ctx.error(['portLevelMtls'], 'port level mTLS, if defined, must have at least one element')
}
