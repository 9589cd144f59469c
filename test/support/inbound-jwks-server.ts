// A JWKS endpoint on 127.0.0.1 that a test can stop and start again on the same port.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface JwksServer {
  readonly port: number
  readonly uri: string
  /** GETs served so far. */
  readonly fetches: number
  start(): Promise<void>
  stop(): Promise<void>
}

export async function startJwksServer(jwks: string, port = 0): Promise<JwksServer> {
  let server: Server | undefined
  let fetches = 0
  let bound = port
  const start = async () => {
    const s = createServer((_req, res) => {
      fetches++
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' })
      res.end(jwks)
    })
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen(bound, '127.0.0.1', () => resolve())
    })
    bound = (s.address() as AddressInfo).port
    server = s
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve()
      server.closeAllConnections()
      server.close(() => resolve())
      server = undefined
    })
  await start()
  return {
    get port() {
      return bound
    },
    get uri() {
      return `http://127.0.0.1:${bound}/jwks`
    },
    get fetches() {
      return fetches
    },
    start,
    stop,
  }
}
