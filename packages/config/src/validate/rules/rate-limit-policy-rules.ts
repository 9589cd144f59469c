import type { RateLimitPolicySpec } from '../../model/rate-limit-policy-schema.js'
import { checkHeaderName, checkRegex, type RuleContext } from './rule-context.js'
import { checkSelector } from './workload-selector.js'

export function rateLimitPolicyRules(spec: RateLimitPolicySpec, ctx: RuleContext): void {
  checkSelector(ctx, ['selector', 'matchLabels'], spec.selector?.matchLabels, spec.selector !== undefined)
  const names = new Set<string>()
  spec.rules.forEach((rule, i) => {
    const at = ['rules', i]
    if (rule.name !== undefined) {
      if (names.has(rule.name)) ctx.error([...at, 'name'], `duplicate rule name: ${rule.name}`)
      names.add(rule.name)
    }
    const bucket = rule.tokenBucket
    if (bucket.tokensPerFill !== undefined && bucket.tokensPerFill > bucket.maxTokens) {
      ctx.warn(
        [...at, 'tokenBucket', 'tokensPerFill'],
        `tokensPerFill ${bucket.tokensPerFill} exceeds maxTokens ${bucket.maxTokens}; the bucket never holds more than maxTokens`,
      )
    }
    rule.match?.forEach((match, j) => {
      for (const [name, value] of Object.entries(match.headers ?? {})) {
        checkHeaderName(ctx, [...at, 'match', j, 'headers', name], name)
        checkRegex(ctx, [...at, 'match', j, 'headers', name, 'regex'], value.regex)
      }
      for (const field of ['paths', 'notPaths'] as const) {
        match[field]?.forEach((p, k) => {
          if (p === '') ctx.error([...at, 'match', j, field, k], `empty value not allowed, found in ${field}`)
        })
      }
    })
  })
  const status = spec.response?.status
  if (status !== undefined && status < 400)
    ctx.error(['response', 'status'], `status ${status} is not an error status`)
}
