import { parse } from '@bufbuild/cel'
import type { TelemetrySpec } from '../../generated/istio-types.js'
import type { PathSegment } from '../../model/diagnostic.js'
import type { RuleContext } from './rule-context.js'
import { checkSelector } from './workload-selector.js'

function checkProviders(
  ctx: RuleContext,
  path: PathSegment[],
  providers: Array<{ name: string }> | undefined,
) {
  providers?.forEach((p, i) => {
    if (!p.name) ctx.error([...path, 'providers', i, 'name'], 'providers.name may not be empty')
  })
}

export function telemetryRules(spec: TelemetrySpec, ctx: RuleContext): void {
  checkSelector(ctx, ['selector', 'matchLabels'], spec.selector?.matchLabels, spec.selector !== undefined)
  if ((spec.tracing?.length ?? 0) > 1) ctx.warn(['tracing'], 'multiple tracing is not currently supported')
  spec.tracing?.forEach((tracing, i) => {
    const at = ['tracing', i]
    checkProviders(ctx, at, tracing.providers)
    if ((tracing.providers?.length ?? 0) > 1)
      ctx.warn([...at, 'providers'], 'multiple providers is not currently supported')
    const pct = tracing.randomSamplingPercentage
    if (pct !== undefined && pct !== null && !(pct >= 0 && pct <= 100)) {
      ctx.error([...at, 'randomSamplingPercentage'], 'randomSamplingPercentage must be in range [0.0, 100.0]')
    }
    for (const [name, tag] of Object.entries(tracing.customTags ?? {})) {
      const tat = [...at, 'customTags', name]
      if (name === '') ctx.error(tat, 'tag name may not be empty')
      if (tag === null) ctx.error(tat, `tag '${name}' may not have a nil value`)
      else if (tag.literal && !tag.literal.value) ctx.error(tat, 'literal tag value may not be empty')
      else if (tag.header && !tag.header.name) ctx.error(tat, 'header tag name may not be empty')
      else if (tag.environment && !tag.environment.name)
        ctx.error(tat, 'environment tag name may not be empty')
    }
  })
  spec.metrics?.forEach((metrics, i) => {
    const at = ['metrics', i]
    checkProviders(ctx, at, metrics.providers)
    metrics.overrides?.forEach((override, j) => {
      if (override.match?.customMetric === '')
        ctx.error([...at, 'overrides', j, 'match', 'customMetric'], 'customMetric may not be empty')
      for (const [tag, op] of Object.entries(override.tagOverrides ?? {})) {
        const tat = [...at, 'overrides', j, 'tagOverrides', tag]
        if (op === null) ctx.error(tat, 'tagOverrides may not be null')
        else if (tag === '') ctx.warn(tat, 'tagOverrides.name may not be empty')
      }
    })
  })
  spec.accessLogging?.forEach((logging, i) => {
    const at = ['accessLogging', i]
    checkProviders(ctx, at, logging.providers)
    const expression = logging.filter?.expression
    if (expression !== undefined) {
      try {
        parse(expression)
      } catch (e) {
        ctx.error([...at, 'filter', 'expression'], `must be a valid CEL expression, ${(e as Error).message}`)
      }
    }
  })
}
