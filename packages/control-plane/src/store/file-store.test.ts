import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Resource } from '@weft/config'
import { afterEach, describe, expect, it } from 'vitest'
import type { StoreState } from './config-store.js'
import { FileStore } from './file-store.js'

const dirs: string[] = []
const stores: FileStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-file-store-'))
  dirs.push(dir)
  return dir
}

async function started(dir: string): Promise<FileStore> {
  const store = new FileStore(dir)
  await store.start()
  stores.push(store)
  return store
}

/** A VirtualService whose spec carries `padding` characters, to make the log grow. */
function vs(name: string, timeout: string, padding = 0): Resource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: {
      name,
      namespace: 'default',
      ...(padding ? { annotations: { pad: 'x'.repeat(padding) } } : {}),
    },
    spec: { hosts: [name], http: [{ route: [{ destination: { host: name } }], timeout }] },
  } as Resource
}

const put = (...resources: Resource[]) => ({ put: resources, delete: [], expect: new Map() })

/** What a restart must give back: the revision, every resource as stored, every endpoint. */
function contents(state: StoreState) {
  return {
    revision: state.revision,
    resources: [...state.resources.entries()],
    endpoints: [...state.endpoints.values()].map((e) => e.endpoint),
  }
}

const endpoint = { service: 'reviews', namespace: 'default', address: '10.0.0.1', port: 9080 }

describe('FileStore', () => {
  it('a restart gives back every acknowledged change: commits, deletes, registrations, deregistrations', async () => {
    const dir = await dataDir()
    const store = await started(dir)
    await store.commit(put(vs('a', '1s'), vs('b', '1s')))
    await store.commit({ put: [vs('a', '2s')], delete: ['VirtualService/default/b'], expect: new Map() })
    await store.register(endpoint, 30_000)
    const gone = await store.register({ ...endpoint, address: '10.0.0.2' }, 30_000)
    await store.deregister(gone)
    const before = contents(store.state())
    expect(before.revision).toBe(5)
    await store.close()

    const restarted = await started(dir)
    expect(contents(restarted.state())).toEqual(before)
    expect(restarted.state().resources.get('VirtualService/default/a')?.resourceVersion).toBe('2')
    // The log holds the changes; the state file is written only once the log outweighs it.
    expect((await stat(join(dir, 'changes.log'))).size).toBeGreaterThan(0)
    await expect(stat(join(dir, 'state.json'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('writes the state out and empties the log once the log outweighs it; a restart reads both', async () => {
    const dir = await dataDir()
    const store = await started(dir)
    // 24 changes of about 64 KB each: past the 1 MiB at which the log is folded into state.json.
    for (let i = 0; i < 24; i++) await store.commit(put(vs(`svc-${i % 3}`, `${i + 1}s`, 64 * 1024)))
    await store.commit(put(vs('after', '1s')))
    const before = contents(store.state())
    await store.close()
    const written = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { revision: number }
    expect(written.revision).toBeGreaterThanOrEqual(16)
    expect(written.revision).toBeLessThan(before.revision)
    expect((await stat(join(dir, 'changes.log'))).size).toBeLessThan(1024 * 1024)
    expect(contents((await started(dir)).state())).toEqual(before)
  })

  it('a crash between writing the state and emptying the log: records already in the state are not applied twice', async () => {
    const dir = await dataDir()
    const store = await started(dir)
    for (let i = 0; i < 20; i++) await store.commit(put(vs(`svc-${i % 3}`, `${i + 1}s`, 64 * 1024)))
    await store.close()
    // The log as it was before the fold: its older records are in state.json now.
    const log = join(dir, 'changes.log')
    const folded = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { revision: number }
    const other = await dataDir()
    const replayed = await started(other)
    for (let i = 0; i < 20; i++) await replayed.commit(put(vs(`svc-${i % 3}`, `${i + 1}s`)))
    expect(replayed.state().revision).toBe(20)
    await replayed.close()
    await copyFile(join(other, 'changes.log'), log)
    const restarted = await started(dir)
    expect(folded.revision).toBeLessThan(20)
    expect(restarted.state().revision).toBe(20)
    // Revisions up to the state file's come from it; the later ones from the log.
    const svc0 = restarted.state().resources.get('VirtualService/default/svc-0')?.resource.spec as
      | { http: { timeout: string }[] }
      | undefined
    expect(svc0?.http[0]?.timeout).toBe('19s')
  })

  it('refuses a log with a change missing, and lets go of the data directory', async () => {
    const dir = await dataDir()
    const store = await started(dir)
    await store.commit(put(vs('a', '1s')))
    await store.close()
    const text = await readFile(join(dir, 'changes.log'), 'utf8')
    await writeFile(join(dir, 'changes.log'), text.replace('"revision":1', '"revision":3'))
    const broken = new FileStore(dir)
    await expect(broken.start()).rejects.toMatchObject({
      code: 'WEFT_CP_STORE',
      message: expect.stringMatching(/changes\.log goes from revision 0 to 3: changes are missing/),
    })
    await writeFile(join(dir, 'changes.log'), text)
    expect((await started(dir)).state().revision).toBe(1)
  })
})
