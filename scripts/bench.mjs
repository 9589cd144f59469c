#!/usr/bin/env node
// `pnpm bench`: runs every benchmark program in the workspace (packages/*/bench/*.bench.mjs),
// one after another so that none disturbs another's measurements, each in its own process.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const programs = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => {
    const dir = join(root, 'packages', d.name, 'bench')
    try {
      return readdirSync(dir)
        .filter((f) => f.endsWith('.bench.mjs'))
        .map((f) => join(dir, f))
    } catch {
      return []
    }
  })
  .sort()

let failed = 0
for (const [i, program] of programs.entries()) {
  console.log(`\n[${i + 1}/${programs.length}] ${program.slice(root.length)}`)
  const run = spawnSync(process.execPath, ['--expose-gc', program, ...process.argv.slice(2)], {
    stdio: 'inherit',
  })
  if (run.status !== 0) failed++
}
process.exitCode = failed ? 1 : 0
