import { type CelInput, CelScalar, celEnv, celFunc, celMethod, isCelError, parse, plan } from '@bufbuild/cel'
import { strings } from '@bufbuild/cel/ext'
import { parseDurationMs } from '../model/duration.js'

/** One `x-kubernetes-validations` entry of Istio's CRDs. */
export interface CelRuleSource {
  readonly rule: string
  readonly message?: string
}

export interface CelRule {
  readonly rule: string
  readonly message: string
  /** true when `self` satisfies the rule; an evaluation error counts as a failure, as in Kubernetes. */
  test(self: unknown): boolean
}

// Kubernetes' URL library, as far as Istio's rules use it: `url(s).getScheme()`. The URL is
// carried as its string; an unparseable one is an evaluation error.
const kubernetesUrl = [
  celFunc('url', [CelScalar.STRING], CelScalar.STRING, (s) => {
    if (!URL.canParse(s)) throw new Error(`not a URL: ${s}`)
    return s
  }),
  celMethod('getScheme', CelScalar.STRING, [], CelScalar.STRING, function getScheme() {
    return new URL(this).protocol.replace(/:$/, '')
  }),
]

const env = celEnv({ funcs: [...strings, ...kubernetesUrl] })

/** The rule on 196 of Istio's duration fields, checked natively: it is most of the CEL work. */
export const DURATION_RULE = "duration(self) >= duration('1ms')"

export function compileCelRule(source: CelRuleSource): CelRule {
  if (source.rule === DURATION_RULE) {
    return {
      rule: source.rule,
      message: source.message ?? `failed rule: ${source.rule}`,
      test: (self) => {
        const ms = typeof self === 'string' ? parseDurationMs(self) : undefined
        return ms !== undefined && ms >= 1
      },
    }
  }
  const run = plan(env, parse(source.rule))
  return {
    rule: source.rule,
    message: source.message ?? `failed rule: ${source.rule}`,
    test(self) {
      try {
        const result = run({ self: toCel(self) as CelInput })
        return !isCelError(result) && result === true
      } catch {
        return false
      }
    },
  }
}

/** JSON → CEL values: objects become maps and whole numbers ints, as Kubernetes presents them. */
function toCel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCel)
  if (value !== null && typeof value === 'object') {
    return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]))
  }
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  return value
}
