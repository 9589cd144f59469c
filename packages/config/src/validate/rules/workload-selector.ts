import type { PathSegment } from '../../model/diagnostic.js'
import { checkLabels, type RuleContext } from './rule-context.js'

/** Istio's `workloadSelector`/`selector` checks, shared by every kind that selects workloads. */
export function checkSelector(
  ctx: RuleContext,
  path: PathSegment[],
  labels: Record<string, string> | undefined,
  present: boolean,
): void {
  if (!present) return
  if (!labels || Object.keys(labels).length === 0) {
    ctx.warn(path, 'workload selector specified without labels')
    return
  }
  for (const [key, value] of Object.entries(labels)) {
    if (key === '') ctx.error(path, `empty key is not supported in selector: "${key}"`)
    if (key.includes('*') || value.includes('*'))
      ctx.error([...path, key], `wildcard is not supported in selector: "${key}"`)
  }
  checkLabels(ctx, path, labels)
}

/** `exportTo`: `.`, `*`, `~` or namespace names, no duplicates, public apart from private. */
export function checkExportTo(ctx: RuleContext, exportTo: string[] | undefined, namespace: string): void {
  if (!exportTo) return
  const seen = new Set<string>()
  exportTo.forEach((entry, i) => {
    const normalized = entry === '.' ? namespace : entry
    if (seen.has(normalized)) {
      ctx.error(
        ['exportTo', i],
        entry === '.' || seen.has('.')
          ? `duplicate entries in exportTo: . and current namespace ${namespace}`
          : `duplicate entries in exportTo for entry ${entry}`,
      )
    }
    seen.add(normalized)
    if (entry !== '.' && entry !== '*' && entry !== '~' && !/^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/.test(entry)) {
      ctx.error(['exportTo', i], `invalid namespace in exportTo: "${entry}"`)
    }
  })
  if (seen.has('*') && seen.size > 1)
    ctx.error(['exportTo'], 'cannot have both public (*) and non-public exportTo values for a resource')
}
