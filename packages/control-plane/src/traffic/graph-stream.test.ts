import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { GraphStream } from './graph-stream.js'

const servers: Server[] = []

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((resolve) => s.close(resolve))
  }
})

/** A real server whose every request subscribes to `stream`; resolves its port. */
async function serve(stream: GraphStream): Promise<number> {
  const server = createServer((_req, res) => stream.add(res, { windowSeconds: 60, namespace: undefined }))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** Subscribes and records when each `graph` event arrives. */
function subscribe(port: number) {
  const events: { atMs: number; graph: { n: number } }[] = []
  const req = request({ host: '127.0.0.1', port, path: '/' })
  req.on('response', (res) => {
    let buffer = ''
    res.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (block.startsWith('event: graph\ndata: '))
          events.push({ atMs: Date.now(), graph: JSON.parse(block.slice('event: graph\ndata: '.length)) })
        end = buffer.indexOf('\n\n')
      }
    })
  })
  req.on('error', () => {})
  req.end()
  return { events, close: () => req.destroy() }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('not in time')
    await sleep(5)
  }
}

describe('GraphStream (server-sent events on a real socket)', () => {
  it('sends at once, then every period; reports bring the next event forward, never closer than the gap', async () => {
    // When each graph was built: the stream's own schedule, free of delivery jitter.
    const builtAt: number[] = []
    const stream = new GraphStream({
      build: () => ({ n: builtAt.push(Date.now()) }),
      periodMs: 600,
      minGapMs: 150,
    })
    const client = subscribe(await serve(stream))
    await until(() => client.events.length === 1)
    expect(client.events[0]?.graph).toEqual({ n: 1 })
    // Quiet: the next event comes with the period, not before.
    await until(() => client.events.length === 2)
    // Node's timers run on a monotonic clock and Date.now() on the wall clock: a timer may be
    // seen firing a few ms early, hence the slack.
    expect((builtAt[1] as number) - (builtAt[0] as number)).toBeGreaterThanOrEqual(595)
    // A burst of reports: events follow, spaced by the gap at least.
    const burst = Date.now()
    while (Date.now() - burst < 500) {
      stream.changed()
      await sleep(5)
    }
    await sleep(200)
    const during = client.events.slice(2)
    expect(during.length).toBeGreaterThanOrEqual(2)
    expect(during.length).toBeLessThanOrEqual(5)
    await until(() => client.events.length === builtAt.length)
    expect(client.events.map((e) => e.graph.n)).toEqual(builtAt.map((_, i) => i + 1))
    const gaps = builtAt.slice(1).map((t, i) => t - (builtAt[i] as number))
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(145)
    client.close()
    stream.close()
  })

  it('builds one graph per event for all subscribers of a view, and forgets a subscriber that went away', async () => {
    let builds = 0
    const stream = new GraphStream({ build: () => ({ n: ++builds }), periodMs: 200, minGapMs: 50 })
    const port = await serve(stream)
    const a = subscribe(port)
    const b = subscribe(port)
    await until(() => a.events.length === 1 && b.events.length === 1)
    expect(stream.size).toBe(2)
    const before = builds
    await until(() => a.events.length === 2 && b.events.length === 2)
    // One periodic event: one build, the same graph to both.
    expect(builds - before).toBe(1)
    expect(a.events[1]?.graph).toEqual(b.events[1]?.graph)
    a.close()
    b.close()
    await until(() => stream.size === 0)
    const after = builds
    await sleep(450)
    // No subscriber, no timer, no work.
    expect(builds).toBe(after)
    stream.close()
  })
})
