import { open, readFile } from 'node:fs/promises'

/**
 * A secret kept in a file of its own, mode 0600: read if it exists, else generated and created
 * exclusively (two replicas racing on one directory end up with the same secret).
 */
export async function readOrCreateSecret(path: string, create: () => string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const secret = create()
  try {
    const file = await open(path, 'wx', 0o600)
    try {
      await file.writeFile(`${secret}\n`)
      await file.sync()
    } finally {
      await file.close()
    }
    return secret
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(path, 'utf8')).trim()
    throw error
  }
}
