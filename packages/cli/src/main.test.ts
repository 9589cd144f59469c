import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { run } from './main.js'

const here = dirname(fileURLToPath(import.meta.url))
const istio = process.env.WEFT_ISTIO_DIR ?? resolve(here, '../../../../shared/istio')
const bookinfo = join(istio, 'bookinfo')

async function weft(args: string[], stdin = '') {
  let out = ''
  let err = ''
  const code = await run(args, {
    out: (t) => {
      out += t
    },
    err: (t) => {
      err += t
    },
    readStdin: async () => stdin,
  })
  return { code, out, err }
}

const BAD = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination:
        host: reviews
        subsets: v1
      weight: -5
`

function tempConfig(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-cli-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

describe('weft validate', () => {
  it('passes every Istio sample file, read from a folder, and exits 0', async () => {
    const { code, out, err } = await weft(['validate', '-f', bookinfo])
    expect(out).toBe('')
    expect(err).toMatch(/^52 resources in 22 files: valid \(0 errors/)
    expect(code).toBe(0)
  })

  it('prints each error as file:line:col Kind/namespace/name: field.path: message and exits 1', async () => {
    const dir = tempConfig({ 'bad.yaml': BAD })
    const { code, out } = await weft(['validate', '-f', join(dir, 'bad.yaml')])
    expect(out.trim().split('\n')).toEqual([
      `${join(dir, 'bad.yaml')}:11:9 VirtualService/default/reviews: spec.http[0].route[0].destination.subsets: unknown field "subsets"; did you mean "subset"?`,
    ])
    expect(code).toBe(1)
  })

  it('reports semantic errors once the schema holds, with -n setting the namespace', async () => {
    const dir = tempConfig({ 'bad.yaml': BAD.replace('subsets: v1', 'subset: v1') })
    const { code, out } = await weft(['validate', '-n', 'shop', '-f', join(dir, 'bad.yaml')])
    expect(out.trim()).toBe(
      `${join(dir, 'bad.yaml')}:12:15 VirtualService/shop/reviews: spec.http[0].route[0].weight: weight -5 < 0`,
    )
    expect(code).toBe(1)
  })

  it('-o json gives scripts the verdict and every diagnostic', async () => {
    const dir = tempConfig({ 'bad.yaml': BAD })
    const { code, out } = await weft(['validate', '-o', 'json', '-f', dir])
    const report = JSON.parse(out)
    expect(report).toMatchObject({ valid: false, files: 1, resources: 0 })
    expect(report.diagnostics[0]).toMatchObject({
      code: 'WEFT_CONFIG_UNKNOWN_FIELD',
      line: 11,
      column: 9,
      field: 'spec.http[0].route[0].destination.subsets',
    })
    expect(code).toBe(1)
  })

  it('reads standard input with -f -', async () => {
    const { code, out } = await weft(['validate', '-f', '-'], BAD)
    expect(out).toMatch(/^<stdin>:11:9 /)
    expect(code).toBe(1)
  })

  it('reads sub-folders only with -R', async () => {
    const dir = tempConfig({ 'nested/bad.yaml': BAD, 'top.yaml': '' })
    expect((await weft(['validate', '-f', dir])).code).toBe(0)
    expect((await weft(['validate', '-R', '-f', dir])).code).toBe(1)
  })

  const usage: [string, string[]][] = [
    ['no -f', ['validate']],
    ['an unknown command', ['frobnicate']],
    ['an unknown option', ['validate', '--frob', '-f', bookinfo]],
    ['a bad -o value', ['validate', '-o', 'xml', '-f', bookinfo]],
    ['a path that does not exist', ['validate', '-f', '/nonexistent/weft']],
  ]
  for (const [name, args] of usage) {
    it(`exits 2 on ${name}`, async () => {
      const { code, err } = await weft(args)
      expect(code).toBe(2)
      expect(err).not.toBe('')
    })
  }
})

describe('weft analyze', () => {
  it('reports cross-resource findings with their codes and exits 1 on an error-level one', async () => {
    const { code, out } = await weft(['analyze', '-f', join(bookinfo, 'virtual-service-all-v1.yaml')])
    const lines = out.trim().split('\n')
    expect(lines).toHaveLength(4)
    expect(lines[0]).toMatch(
      /virtual-service-all-v1\.yaml:12:17 VirtualService\/default\/productpage: spec\.http\[0\]\.route\[0\]\.destination\.subset: error WFT0101 subset "v1"/,
    )
    expect(code).toBe(1)
  })

  it('exits 0 when Bookinfo’s services, destination rules and routes agree', async () => {
    const files = ['bookinfo.yaml', 'destination-rule-all.yaml', 'virtual-service-all-v1.yaml'].flatMap(
      (f) => ['-f', join(bookinfo, f)],
    )
    const { code, out } = await weft(['analyze', ...files])
    expect(out).toBe('')
    expect(code).toBe(0)
  })
})
