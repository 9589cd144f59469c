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
  .map((program) => ({ program, args: [] }))

// Issue #10 asks for propagation at ten times #8's scale too: 1,000 instances in 8 processes,
// the file store only, 10 rounds (about a minute); and, since a change costs each instance more
// as its config grows, the 100 instances again with 100 services' rules beside the one changed.
const propagation = programs.findIndex((p) => p.program.endsWith('propagation.bench.mjs'))
if (propagation >= 0) {
  programs.splice(
    propagation + 1,
    0,
    {
      program: programs[propagation].program,
      args: ['--instances', '1000', '--processes', '8', '--rounds', '10', '--store', 'file'],
    },
    {
      program: programs[propagation].program,
      args: ['--services', '100', '--rounds', '30', '--store', 'file'],
    },
  )
}

let failed = 0
for (const [i, { program, args }] of programs.entries()) {
  console.log(`\n[${i + 1}/${programs.length}] ${program.slice(root.length)} ${args.join(' ')}`.trimEnd())
  const run = spawnSync(process.execPath, ['--expose-gc', program, ...args, ...process.argv.slice(2)], {
    stdio: 'inherit',
  })
  if (run.status !== 0) failed++
}
process.exitCode = failed ? 1 : 0
