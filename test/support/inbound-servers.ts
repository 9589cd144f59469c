// Real servers behind Weft's inbound adapters, and a raw HTTP/1.1 client that sends the request
// target byte for byte (no client-side path cleaning), for the inbound conformance suites.
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import * as grpc from '@grpc/grpc-js'
import type { InboundPolicy } from '@weft/server'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'

export interface RunningServer {
  readonly name: 'express' | 'fastify'
  readonly port: number
  close(): Promise<void>
}

/** What the application saw of an allowed request. */
export interface Seen {
  readonly url: string
  readonly headers: Record<string, string | string[] | undefined>
  readonly weft: unknown
}

export async function startExpress(inbound: InboundPolicy): Promise<RunningServer> {
  const app = express()
  app.use(inbound.express())
  app.use((req, res) => {
    res.json({ url: req.url, headers: req.headers, weft: req.weft ?? null } satisfies Seen)
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  return {
    name: 'express',
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export async function startFastify(inbound: InboundPolicy): Promise<RunningServer> {
  const app: FastifyInstance = Fastify({ rewriteUrl: inbound.rewriteUrl })
  await app.register(inbound.fastify())
  app.all(
    '/*',
    async (request) => ({ url: request.url, headers: request.headers, weft: request.weft }) satisfies Seen,
  )
  app.all(
    '/',
    async (request) => ({ url: request.url, headers: request.headers, weft: request.weft }) satisfies Seen,
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    name: 'fastify',
    port: (app.server.address() as AddressInfo).port,
    close: () => app.close(),
  }
}

export interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/**
 * One HTTP/1.1 request over a fresh socket, written exactly as given. `headers` are sent in
 * order, repeats included. Resolves with status 0 if the server closed without answering.
 */
export function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: readonly (readonly [string, string])[],
  timeoutMs = 5000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer to ${method} ${target} in ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(parseResponse(Buffer.concat(chunks).toString('latin1')))
    })
    const lines = [
      `${method} ${target} HTTP/1.1`,
      ...headers.map(([n, v]) => `${n}: ${v}`),
      'Connection: close',
    ]
    socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'))
  })
}

function parseResponse(text: string): RawResponse {
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return { status: 0, headers: {}, body: '' }
  const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n')
  const status = Number(statusLine?.split(' ')[1])
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  let body = text.slice(end + 4)
  if (headers['transfer-encoding']?.includes('chunked')) body = unchunk(body)
  return { status, headers, body }
}

function unchunk(body: string): string {
  let out = ''
  let rest = body
  for (let i = 0; i < 10_000; i++) {
    const lineEnd = rest.indexOf('\r\n')
    if (lineEnd < 0) break
    const size = Number.parseInt(rest.slice(0, lineEnd), 16)
    if (!(size > 0)) break
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size)
    rest = rest.slice(lineEnd + 2 + size + 2)
  }
  return out
}

/** A gRPC service without a .proto: JSON messages, methods `/weft.test.Echo/{Say,Forbidden,Admin}`. */
const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString() || 'null'),
}
function method(name: string): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/weft.test.Echo/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  }
}
export const echoService: grpc.ServiceDefinition = {
  Say: method('Say'),
  Forbidden: method('Forbidden'),
  Admin: method('Admin'),
}

export interface RunningGrpc {
  readonly port: number
  /** Calls `/weft.test.Echo/NAME`; resolves with the status code (0 = OK) and the metadata the server saw. */
  call(
    name: string,
    metadata?: Record<string, string>,
  ): Promise<{ code: number; details: string; seen?: unknown }>
  close(): Promise<void>
}

export async function startGrpc(inbound: InboundPolicy): Promise<RunningGrpc> {
  const server = new grpc.Server({ interceptors: [inbound.grpcInterceptor()] })
  const handler: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
    callback(null, { metadata: call.metadata.getMap() })
  }
  server.addService(echoService, { Say: handler, Forbidden: handler, Admin: handler })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  )
  const Client = grpc.makeGenericClientConstructor(echoService, 'Echo')
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure())
  return {
    port,
    call(name, metadata = {}) {
      const md = new grpc.Metadata()
      for (const [k, v] of Object.entries(metadata)) md.set(k, v)
      return new Promise((resolve) => {
        const fn = (client as unknown as Record<string, grpc.requestCallback<unknown> & CallableFunction>)[
          name
        ]
        fn?.call(
          client,
          {},
          md,
          { deadline: Date.now() + 5000 },
          (error: grpc.ServiceError | null, reply?: unknown) => {
            resolve(
              error ? { code: error.code, details: error.details } : { code: 0, details: '', seen: reply },
            )
          },
        )
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        client.close()
        server.tryShutdown(() => resolve())
      }),
  }
}
