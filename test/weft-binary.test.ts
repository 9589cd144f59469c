import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { compileSnapshot, loadConfig } from '@weft/config'
import { describe, expect, it } from 'vitest'

const exec = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))
const istio = process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../shared/istio')
// The binary as npm installs it: the `bin` of @weft/cli, run by a separate node process.
const cliPackage = createRequire(import.meta.url).resolve('@weft/cli/package.json')
const bin = join(dirname(cliPackage), 'dist/bin.js')

function weft(...args: string[]) {
  return exec(process.execPath, [bin, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  )
}

describe('the weft binary', () => {
  it("validates Istio's samples and validation dataset: exit 0, nothing on stdout", async () => {
    const result = await weft(
      'validate',
      '-f',
      join(istio, 'bookinfo'),
      '-f',
      join(istio, 'validation-dataset'),
    )
    expect(result).toMatchObject({ code: 0, stdout: '' })
    expect(result.stderr).toMatch(/^63 resources in 33 files: valid/)
  })

  it('exits 1 with one line per error on an invalid file, and 2 on a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-bin-'))
    const file = join(dir, 'bad.yaml')
    writeFileSync(
      file,
      'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: r\nspec:\n  host: r\n  subsets:\n  - name: v1\n  - name: v1\n',
    )
    const invalid = await weft('validate', '-f', file)
    expect(invalid.code).toBe(1)
    expect(invalid.stdout).toBe(
      `${file}:9:11 DestinationRule/default/r: spec.subsets[1].name: duplicate subset names: v1\n`,
    )
    expect((await weft('validate')).code).toBe(2)
  })

  it('agrees with the library: what the CLI passes, the library compiles to the same snapshot every time', async () => {
    const result = await weft(
      'analyze',
      '-o',
      'json',
      '-f',
      join(istio, 'bookinfo/bookinfo.yaml'),
      '-f',
      join(istio, 'bookinfo/destination-rule-all.yaml'),
    )
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ valid: true, files: 2, resources: 18 })
    const { readFileSync } = await import('node:fs')
    const texts = ['bookinfo.yaml', 'destination-rule-all.yaml'].map((f) => ({
      file: f,
      text: readFileSync(join(istio, 'bookinfo', f), 'utf8'),
    }))
    const a = compileSnapshot(loadConfig(texts).resources)
    const b = compileSnapshot(loadConfig([...texts].reverse()).resources)
    expect(a.version).toBe(b.version)
    expect(a.resources).toHaveLength(18)
  })
})
