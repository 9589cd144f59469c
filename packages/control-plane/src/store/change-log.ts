import { type FileHandle, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { StoreError } from '../errors.js'

/**
 * An append-only file of records, one JSON document per line, each made durable (fdatasync)
 * before `append` resolves. What a crash can leave is a last line cut short: it was never
 * acknowledged, so `open` drops it. Any other line that does not parse is damage, and `open`
 * refuses the file rather than serve a state with a change missing from its middle.
 */
export class ChangeLog<T> {
  readonly #path: string
  readonly #file: FileHandle
  /** Bytes of whole records: where the next record goes, and where a failed one is cut back to. */
  #size: number
  /** Set when a failed append could not be cut back: nothing more may be written. */
  #broken: Error | undefined

  private constructor(path: string, file: FileHandle, size: number) {
    this.#path = path
    this.#file = file
    this.#size = size
  }

  /** Opens (or creates) the log at `path`; answers it and the records it holds, oldest first. */
  static async open<T>(path: string): Promise<{ log: ChangeLog<T>; records: T[] }> {
    let text = ''
    let created = false
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StoreError(`cannot read ${path}: ${(error as Error).message}`, { cause: error })
      }
      created = true
    }
    const records: T[] = []
    let whole = 0
    for (
      let start = 0, end = text.indexOf('\n');
      end >= 0;
      start = end + 1, end = text.indexOf('\n', start)
    ) {
      try {
        records.push(JSON.parse(text.slice(start, end)) as T)
      } catch (error) {
        throw new StoreError(
          `${path} is damaged at line ${records.length + 1}: ${(error as Error).message}; restore the data directory from a backup`,
          { cause: error },
        )
      }
      whole = end + 1
    }
    let file: FileHandle
    try {
      file = await open(path, 'a', 0o600)
    } catch (error) {
      throw new StoreError(`cannot open ${path}: ${(error as Error).message}`, { cause: error })
    }
    try {
      const size = Buffer.byteLength(text.slice(0, whole))
      // A record cut short by a crash: never acknowledged. Cut off, so that the next one starts a line.
      if (whole < text.length) {
        await file.truncate(size)
        await file.datasync()
      }
      if (created) await syncDirectory(dirname(path))
      return { log: new ChangeLog<T>(path, file, size), records }
    } catch (error) {
      await file.close()
      throw new StoreError(`cannot open ${path}: ${(error as Error).message}`, { cause: error })
    }
  }

  /** Bytes of records held: what compaction weighs against a snapshot's size. */
  get size(): number {
    return this.#size
  }

  /** Appends `record` and resolves once it is on disk; on failure nothing of it stays. */
  async append(record: T): Promise<void> {
    if (this.#broken) throw this.#broken
    const line = Buffer.from(`${JSON.stringify(record)}\n`)
    try {
      // A write may take less than it was given (a disk filling up): the rest, until all is in.
      for (let at = 0; at < line.length; ) at += (await this.#file.write(line, at)).bytesWritten
      await this.#file.datasync()
      this.#size += line.length
    } catch (error) {
      try {
        // A part of the record may have been written: cut back to the last whole record.
        await this.#file.truncate(this.#size)
      } catch {
        this.#broken = new StoreError(
          `${this.#path} could not be cut back after a failed write; restart the control plane to recover from the last whole record`,
          { cause: error },
        )
      }
      throw new StoreError(`cannot write ${this.#path}: ${(error as Error).message}`, { cause: error })
    }
  }

  /** Empties the log: its records are all in a snapshot now. */
  async clear(): Promise<void> {
    await this.#file.truncate(0)
    this.#size = 0
    await this.#file.datasync()
  }

  async close(): Promise<void> {
    await this.#file.close()
  }
}

/** Makes a new name in `dir` durable: the file's own fsync does not cover its directory entry. */
export async function syncDirectory(dir: string): Promise<void> {
  const directory = await open(dir, 'r')
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}
