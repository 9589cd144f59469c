/** An endpoint label naming its workload, as `@weft/telemetry` reads it (`WORKLOAD_LABEL`). */
const WORKLOAD_LABEL = 'weft.dev/workload'

/**
 * The workload name SDKs report for a set of pod labels, by the rule `@weft/telemetry` uses
 * (`workloadOf`): the `weft.dev/workload` label, else `app-version`, else `app`, else the
 * service's name. The graph and the service view use it to tie registered endpoints and
 * watching instances to the edges SDKs report.
 */
export function workloadName(labels: Readonly<Record<string, string>>, service: string): string {
  const named = labels[WORKLOAD_LABEL]
  if (named) return named
  const app = labels.app ?? labels['app.kubernetes.io/name'] ?? service
  const version = labels.version ?? labels['app.kubernetes.io/version']
  return version ? `${app}-${version}` : app
}
