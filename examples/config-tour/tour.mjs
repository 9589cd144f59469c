#!/usr/bin/env node
// `pnpm demo` (for now): a tour of what Weft does with Istio YAML today — validate, analyze and
// compile — on the files beside this script. The Bookinfo demo replaces it as the mesh grows.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '@weft/cli'
import { compileSnapshot, loadConfig } from '@weft/config'

const here = dirname(fileURLToPath(import.meta.url))
const rel = (p) => relative(process.cwd(), p)
const io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stdout.write(t),
  readStdin: async () => '',
}
const step = (n, title) => console.log(`\n\x1b[1m[${n}/4] ${title}\x1b[0m`)

step(
  1,
  `weft validate -f ${rel(join(here, 'broken'))}  — mistakes are refused with file:line:col and the field`,
)
await run(['validate', '-f', join(here, 'broken')], io)

step(2, `weft validate -f ${rel(join(here, 'mesh'))}`)
await run(['validate', '-f', join(here, 'mesh')], io)

step(3, `weft analyze -f ${rel(join(here, 'mesh'))}  — across resources: subsets, hosts, selectors`)
await run(['analyze', '-f', join(here, 'mesh')], io)

step(4, 'the compiled snapshot: what every request will be decided from')
const dir = join(here, 'mesh')
const texts = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ file: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }))
const snapshot = compileSnapshot(loadConfig(texts).resources)
console.log(
  `version ${snapshot.version}, ${snapshot.resources.length} resources, ${snapshot.services.size} services`,
)
const host = snapshot.resolveHost('reviews', 'default')
const vs = snapshot.virtualServiceFor(host, 'default')
const dr = snapshot.destinationRuleFor(host, 'default')
console.log(`\nroutes for ${host} (${vs?.source})`)
console.log('  rule      match                         destinations')
for (const route of vs?.http ?? []) {
  const match = route.matches.length
    ? route.matches
        .map((m) => m.headers.map(([name, matcher]) => `${name} ${matcher}`).join(' & '))
        .join(' | ')
    : '(every request)'
  const action = route.action
  const destinations =
    action.kind === 'route'
      ? action.destinations.destinations
          .map((d) => {
            const share =
              ((d.weight || (action.destinations.destinations.length === 1 ? 1 : 0)) /
                action.destinations.total) *
              100
            return `${d.subset ?? d.host} ${share.toFixed(0)}%`
          })
          .join(', ')
      : action.kind
  console.log(
    `  ${(route.name ?? '').padEnd(9)} ${match.padEnd(29)} ${destinations}${route.timeoutMs ? `  (timeout ${route.timeoutMs} ms)` : ''}`,
  )
}
console.log(
  `\nsubsets (${dr?.source}): ${[...(dr?.subsets.values() ?? [])].map((s) => `${s.name} ⇐ ${JSON.stringify(s.labels)}`).join(', ')}`,
)
const ratings = snapshot.policiesFor('default', { app: 'ratings', version: 'v1' })
console.log(
  `policies on ratings-v1: ${[...ratings.authorization, ...ratings.rateLimit].map((p) => `${p.kind}/${p.metadata.name}`).join(', ')}`,
)
console.log(
  '\nNext: `pnpm test` runs every test; docs/config.md lists every field and what Weft does with it.',
)
