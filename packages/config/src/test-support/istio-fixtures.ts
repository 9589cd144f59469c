import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** `../shared/istio/` beside the checkout: Istio's own files, read in place and never copied. */
export const ISTIO_DIR =
  process.env.WEFT_ISTIO_DIR ??
  resolve(dirname(fileURLToPath(import.meta.url)), '../../../../../shared/istio')

export function istioFiles(subdir: string): { file: string; text: string }[] {
  const dir = join(ISTIO_DIR, subdir)
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ file: join(dir, f), text: readFileSync(join(dir, f), 'utf8') }))
}
