import { once } from 'node:events'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { peekFirstByte } from './first-byte.js'

describe('peekFirstByte', () => {
  const cleanup: (() => void)[] = []
  afterEach(() => {
    for (const step of cleanup.splice(0)) step()
  })

  /** A server that peeks, then reads the whole stream; resolves to what it saw. */
  async function serve(
    timeoutMs: number,
  ): Promise<{ port: number; seen: Promise<{ byte?: number; data: string }> }> {
    let resolveSeen!: (v: { byte?: number; data: string }) => void
    const seen = new Promise<{ byte?: number; data: string }>((r) => {
      resolveSeen = r
    })
    const server = createServer((socket: Socket) => {
      peekFirstByte(socket, timeoutMs, (byte) => {
        if (byte === undefined) {
          resolveSeen({ data: '' })
          socket.destroy()
          return
        }
        let data = ''
        socket.setEncoding('utf8')
        socket.on('data', (chunk) => {
          data += chunk
        })
        socket.on('end', () => resolveSeen({ byte, data }))
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    cleanup.push(() => server.close())
    return { port: (server.address() as AddressInfo).port, seen }
  }

  it('sees the first byte and loses none of the stream', async () => {
    const { port, seen } = await serve(1000)
    const client = connect(port, '127.0.0.1')
    cleanup.push(() => client.destroy())
    client.write('GET / HTTP/1.1\r\n')
    await new Promise((r) => setTimeout(r, 20))
    client.end('Host: x\r\n\r\n')
    expect(await seen).toEqual({ byte: 0x47, data: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' })
  })

  it('gives up on a peer that sends nothing in time', async () => {
    const { port, seen } = await serve(50)
    const client = connect(port, '127.0.0.1')
    cleanup.push(() => client.destroy())
    expect(await seen).toEqual({ data: '' })
  })

  it('gives up on a peer that leaves before sending', async () => {
    const { port, seen } = await serve(5000)
    const client = connect(port, '127.0.0.1', () => client.destroy())
    expect(await seen).toEqual({ data: '' })
  })
})
