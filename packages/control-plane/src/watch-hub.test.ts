import { createServer, get, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Resource } from '@weft/config'
import { afterEach, describe, expect, it } from 'vitest'
import type { StoreState } from './store/config-store.js'
import { WatchHub } from './watch-hub.js'
import { WorkloadStatuses } from './workload-status.js'

function state(revision: number, names: string[]): StoreState {
  return {
    revision,
    resources: new Map(
      names.map((name) => {
        const resource = {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name, namespace: 'default', resourceVersion: String(revision) },
          spec: { hosts: [name] },
        } as unknown as Resource
        return [`VirtualService/default/${name}`, { resource, resourceVersion: String(revision) }]
      }),
    ),
    endpoints: new Map(),
  }
}

const servers: Server[] = []
const hubs: WatchHub[] = []
afterEach(async () => {
  for (const hub of hubs.splice(0)) hub.close()
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

/** A hub behind a real HTTP server, and a raw reader of its events (type and version). */
async function serve(initial: StoreState) {
  const statuses = new WorkloadStatuses()
  const hub = new WatchHub(initial, statuses, () => 'bundle', 'store1')
  hubs.push(hub)
  const server = createServer((req, res) => {
    const instance = new URL(req.url ?? '/', 'http://x').searchParams.get('instance') as string
    statuses.connected(instance, 'svc', 'default', {})
    hub.add(instance, res, req.headers['last-event-id'] as string | undefined)
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  const watch = async (instance: string, have?: string) => {
    const events: { event: string; version: number; from?: number }[] = []
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(
        `http://127.0.0.1:${port}/?instance=${instance}`,
        { headers: have ? { 'last-event-id': have } : {} },
        resolve,
      ).on('error', reject),
    )
    res.setEncoding('utf8')
    let buffer = ''
    res.on('data', (chunk: string) => {
      buffer += chunk
      for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, at)
        buffer = buffer.slice(at + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1] as string
        const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] as string)
        events.push({ event, version: data.version, ...(data.from === undefined ? {} : { from: data.from }) })
      }
    })
    return { events, close: () => res.destroy() }
  }
  return { hub, statuses, watch }
}

const settle = (ms = 100) => new Promise((r) => setTimeout(r, ms))

/** Waits (at most 5 s) until `events` holds `count` events. */
async function received(events: readonly unknown[], count: number): Promise<void> {
  const end = Date.now() + 5000
  while (events.length < count && Date.now() < end) await settle(10)
}

describe('WatchHub: what a (re)connecting watcher is sent', () => {
  it.each([
    { have: undefined, first: { event: 'snapshot', version: 3 }, why: 'nothing held: the whole config' },
    { have: 'store1.3', first: { event: 'current', version: 3 }, why: 'the current version: `current`' },
    { have: 'store1.2', first: { event: 'delta', version: 3, from: 2 }, why: 'a recent version: a delta' },
    { have: 'store2.2', first: { event: 'snapshot', version: 3 }, why: 'another store: the whole config' },
    { have: 'store1.x', first: { event: 'snapshot', version: 3 }, why: 'a malformed id: the whole config' },
  ])('$why', async ({ have, first }) => {
    const { hub, watch } = await serve(state(1, ['a']))
    hub.update(state(2, ['a', 'b']))
    hub.update(state(3, ['a', 'b', 'c']))
    const w = await watch('w', have)
    await received(w.events, 1)
    expect(w.events).toEqual([first])
    hub.update(state(4, ['a']))
    await received(w.events, 2)
    expect(w.events[1]).toEqual({ event: 'delta', version: 4, from: 3 })
    w.close()
  })

  it('a version older than the ones kept gets the whole config', async () => {
    const { hub, watch } = await serve(state(1, ['a']))
    for (let v = 2; v <= 20; v++) hub.update(state(v, ['a']))
    const w = await watch('w', 'store1.1')
    await received(w.events, 1)
    expect(w.events).toEqual([{ event: 'snapshot', version: 20 }])
    w.close()
  })

  it('a watcher ahead of this replica waits for it to catch up, then gets a delta from its own version', async () => {
    const { hub, watch } = await serve(state(5, ['a']))
    const w = await watch('w', 'store1.7')
    hub.update(state(6, ['a']))
    hub.update(state(7, ['a', 'b']))
    await settle()
    expect(w.events).toEqual([])
    hub.update(state(8, ['b']))
    await received(w.events, 1)
    expect(w.events).toEqual([{ event: 'delta', version: 8, from: 7 }])
    w.close()
  })

  it('a watcher ahead of a replica that does not catch up gets its whole config after a second', async () => {
    const { watch } = await serve(state(5, ['a']))
    const w = await watch('w', 'store1.9')
    await settle(300)
    expect(w.events).toEqual([])
    await received(w.events, 1)
    expect(w.events).toEqual([{ event: 'snapshot', version: 5 }])
    w.close()
  })

  it('every watcher of one version gets the same delta, and the status records what was sent', async () => {
    const { hub, statuses, watch } = await serve(state(1, ['a']))
    const ws = await Promise.all(['w1', 'w2', 'w3'].map((i) => watch(i)))
    for (const w of ws) await received(w.events, 1)
    hub.update(state(2, ['b']))
    for (const w of ws) await received(w.events, 2)
    for (const w of ws)
      expect(w.events).toEqual([
        { event: 'snapshot', version: 1 },
        { event: 'delta', version: 2, from: 1 },
      ])
    expect(statuses.list().map((s) => s.sent)).toEqual([2, 2, 2])
    for (const w of ws) w.close()
  })
})
