import { readdir, readFile, stat } from 'node:fs/promises'
import { extname, join } from 'node:path'
import type { SourceText } from '@weft/config'
import { UsageError } from './errors.js'

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json'])

/**
 * Reads `-f` arguments as kubectl does: a file, a folder's YAML and JSON files (with
 * `recursive`, its sub-folders' too), or `-` for standard input.
 */
export async function readSources(
  paths: readonly string[],
  recursive: boolean,
  stdin: () => Promise<string>,
): Promise<SourceText[]> {
  const out: SourceText[] = []
  for (const path of paths) {
    if (path === '-') {
      out.push({ file: '<stdin>', text: await stdin() })
      continue
    }
    const info = await stat(path).catch(() => {
      throw new UsageError(`cannot read ${path}: no such file or folder`)
    })
    if (info.isDirectory()) out.push(...(await readFolder(path, recursive)))
    else out.push({ file: path, text: await readFile(path, 'utf8') })
  }
  return out
}

async function readFolder(dir: string, recursive: boolean): Promise<SourceText[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))
  const out: SourceText[] = []
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory() && recursive) out.push(...(await readFolder(path, true)))
    else if (entry.isFile() && CONFIG_EXTENSIONS.has(extname(entry.name)))
      out.push({ file: path, text: await readFile(path, 'utf8') })
  }
  return out
}
