import { isDeepStrictEqual } from 'node:util'
import {
  analyze,
  formatDiagnostic,
  loadConfig,
  type Resource,
  resourceKey,
  type SourceText,
} from '@weft/config'
import { ConfigRefusedError } from './errors.js'
import type { Change, StoreState } from './store/config-store.js'

export type ApplyAction = 'created' | 'configured' | 'unchanged'

/** What an apply will do, worked out before anything is written. */
export interface ApplyPlan {
  readonly change: Change
  readonly actions: readonly { readonly key: string; readonly action: ApplyAction }[]
  /** Analyzer findings over the config as it will be: reported, never refusing. */
  readonly warnings: readonly string[]
}

function withoutVersion(resource: Resource): Resource {
  const { resourceVersion: _, ...metadata } = resource.metadata
  return { ...resource, metadata } as Resource
}

/**
 * `weft apply`: the texts are parsed and validated as `weft validate` checks them; any error
 * refuses the whole set with the same error lines and nothing is written. A resource that
 * carries `metadata.resourceVersion` is written only if it is still at that version
 * (optimistic concurrency); one identical to what is stored is left alone.
 */
export function planApply(
  texts: readonly SourceText[],
  state: StoreState,
  defaultNamespace: string,
): ApplyPlan {
  const loaded = loadConfig(texts, { defaultNamespace })
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error')
  if (errors.length) throw new ConfigRefusedError(errors.map(formatDiagnostic))
  if (loaded.resources.length === 0)
    throw new ConfigRefusedError([`${texts.map((t) => t.file).join(', ')}: no resources to apply`])

  const put: Resource[] = []
  const expect = new Map<string, string | null>()
  const actions: { key: string; action: ApplyAction }[] = []
  const seen = new Set<string>()
  for (const applied of loaded.resources) {
    const key = resourceKey(applied)
    if (seen.has(key)) throw new ConfigRefusedError([`${key}: appears twice in one apply; apply one of them`])
    seen.add(key)
    const stored = state.resources.get(key)
    const wanted = withoutVersion(applied)
    const version = applied.metadata.resourceVersion
    if (version !== undefined) expect.set(key, version)
    if (stored && isDeepStrictEqual(withoutVersion(stored.resource), wanted)) {
      actions.push({ key, action: 'unchanged' })
      continue
    }
    put.push(wanted)
    actions.push({ key, action: stored ? 'configured' : 'created' })
  }

  const next = new Map([...state.resources].map(([k, v]) => [k, v.resource]))
  for (const r of put) next.set(resourceKey(r), r)
  const registry = [...state.endpoints.values()].map((e) => e.endpoint)
  const warnings = analyze([...next.values()], [], { registry }).map(formatDiagnostic)
  return { change: { put, delete: [], expect }, actions, warnings }
}
