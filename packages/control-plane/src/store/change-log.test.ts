import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ChangeLog } from './change-log.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

/** The records a fresh open reads back (and closes again). */
async function readBack(path: string): Promise<unknown[]> {
  const { log, records } = await ChangeLog.open(path)
  await log.close()
  return records
}

async function logPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-log-'))
  dirs.push(dir)
  return join(dir, 'changes.log')
}

describe('ChangeLog', () => {
  it('keeps every appended record across a reopen, in order', async () => {
    const path = await logPath()
    const first = await ChangeLog.open<{ n: number; text: string }>(path)
    expect(first.records).toEqual([])
    await first.log.append({ n: 1, text: 'línea\nwith a newline' })
    await first.log.append({ n: 2, text: 'two' })
    await first.log.close()
    const again = await ChangeLog.open<{ n: number; text: string }>(path)
    expect(again.records).toEqual([
      { n: 1, text: 'línea\nwith a newline' },
      { n: 2, text: 'two' },
    ])
    expect(again.log.size).toBe((await readFile(path)).length)
    await again.log.close()
  })

  it('drops a last record cut short by a crash, and the next record starts a line of its own', async () => {
    const path = await logPath()
    const { log } = await ChangeLog.open<{ n: number }>(path)
    await log.append({ n: 1 })
    await log.close()
    // What a crash in the middle of a write leaves: part of a record, no newline.
    await appendFile(path, '{"n":2,"te')
    const reopened = await ChangeLog.open<{ n: number }>(path)
    expect(reopened.records).toEqual([{ n: 1 }])
    await reopened.log.append({ n: 3 })
    await reopened.log.close()
    expect(await readBack(path)).toEqual([{ n: 1 }, { n: 3 }])
  })

  it('refuses a log damaged in the middle, naming the file and the line', async () => {
    const path = await logPath()
    await writeFile(path, '{"n":1}\n{"n":2,oops}\n{"n":3}\n')
    await expect(ChangeLog.open(path)).rejects.toMatchObject({
      code: 'WEFT_CP_STORE',
      message: expect.stringMatching(/changes\.log is damaged at line 2: .*restore the data directory/),
    })
  })

  it('clear empties it; records appended after are the only ones read back', async () => {
    const path = await logPath()
    const { log } = await ChangeLog.open<{ n: number }>(path)
    await log.append({ n: 1 })
    await log.clear()
    expect(log.size).toBe(0)
    await log.append({ n: 2 })
    await log.close()
    expect(await readBack(path)).toEqual([{ n: 2 }])
  })
})
