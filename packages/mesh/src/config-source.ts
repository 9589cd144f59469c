import { type FSWatcher, watch } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { extname, join, resolve } from 'node:path'
import type { SourceText } from '@weft/config'

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json'])

/** Reads the config files `paths` name: files, and the `.yaml`/`.yml`/`.json` files of folders (not sub-folders), sorted. */
export async function readConfigFiles(paths: readonly string[]): Promise<SourceText[]> {
  const out: SourceText[] = []
  for (const path of paths) {
    const info = await stat(path)
    if (info.isDirectory()) {
      const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) =>
        a.name.localeCompare(b.name),
      )
      const nested = entries
        .filter((e) => e.isFile() && CONFIG_EXTENSIONS.has(extname(e.name)))
        .map((e) => join(path, e.name))
      for (const file of nested) out.push({ file, text: await readFile(file, 'utf8') })
    } else {
      out.push({ file: path, text: await readFile(path, 'utf8') })
    }
  }
  return out
}

/**
 * Calls `onChange` once things settle after any file under `paths` changes. Editors write in
 * bursts (truncate, write, rename), so changes are gathered for `debounceMs` first.
 */
export function watchConfigFiles(
  paths: readonly string[],
  onChange: () => void,
  debounceMs = 100,
): () => void {
  let timer: NodeJS.Timeout | undefined
  const fire = () => {
    clearTimeout(timer)
    timer = setTimeout(onChange, debounceMs)
  }
  const watchers: FSWatcher[] = paths.map((p) => watch(resolve(p), { recursive: false }, fire))
  for (const w of watchers) w.on('error', fire)
  return () => {
    clearTimeout(timer)
    for (const w of watchers) w.close()
  }
}
