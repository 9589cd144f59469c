import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type RequestListener,
  type ServerOptions,
} from 'node:http'
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net'
import { createServer as createTlsServer, type TLSSocket, type Server as TlsServer } from 'node:tls'
import type { MtlsMode } from '@weft/core'
import { checkPeerSvid, type PeerRefusalReason, type WorkloadIdentity } from '@weft/identity'
import { InvalidInboundOptionError } from '../errors.js'
import { peekFirstByte, TLS_HANDSHAKE_RECORD } from './first-byte.js'

/** Why the listener turned a connection (or a request on it) away. */
export type ConnectionRefusalReason =
  | PeerRefusalReason
  /** Plaintext where the mode is STRICT. */
  | 'plaintext'
  /** The TLS handshake failed: no client certificate, an unknown CA, an expired one… */
  | 'handshake'
  /** TLS arrived but this workload has no identity to answer it with. */
  | 'no-identity'
  /** A PERMISSIVE port got no byte in time, or the peer left before sending one. */
  | 'no-data'
  /** `mtlsMode` threw: the listener fails closed. */
  | 'mode-error'

export interface ConnectionRefusal {
  readonly reason: ConnectionRefusalReason
  readonly detail: string
  readonly mode: MtlsMode | undefined
  readonly localPort: number | undefined
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
}

export type ConnectionRefusedHook = (refusal: ConnectionRefusal) => void

export interface InboundListenerOptions {
  /**
   * The PeerAuthentication mode of a connection to `localPort` (the workload's target port):
   * asked for each new connection, and for each request on a plaintext one, so that a change of
   * snapshot applies without restarting the listener. Typically `peerAuthenticationFor(...)`.
   */
  readonly mtlsMode: (localPort: number) => MtlsMode
  /** This workload's certificate and trust bundle. Without it, only plaintext is served. */
  readonly identity?: WorkloadIdentity
  /** Told of every refused connection, with the reason (for the log). */
  readonly onConnectionRefused?: ConnectionRefusedHook
  /** How long a TLS handshake, or a PERMISSIVE port's first byte, may take. Default 10 s. */
  readonly handshakeTimeoutMs?: number
  /** Options for the HTTP server (`keepAliveTimeout`, `headersTimeout`, `maxHeaderSize`…). */
  readonly http?: ServerOptions
}

/**
 * Serves a Node request handler (a plain `(req, res)` function, an Express app, Fastify's
 * `routing`) on one port, per PeerAuthentication mode:
 * - STRICT: mutual TLS only. The handshake requires a client certificate chaining to the trust
 *   bundle; then the certificate must be an SVID of the mesh's trust domain(s), or the connection
 *   is closed before the handler sees a byte.
 * - PERMISSIVE: mutual TLS (checked as for STRICT) or plaintext on one port, told apart by the
 *   first byte (0x16 opens a TLS handshake).
 * - DISABLE: plaintext.
 * A verified TLS socket reaches the handler with `socket.authorized` true and its peer
 * certificate readable. Certificate rotations reach new handshakes at once; open connections
 * keep going.
 */
export class InboundListener {
  /** The listening socket. */
  readonly server: NetServer
  /** Parses HTTP on every accepted connection, TLS or not; it never listens itself. */
  readonly httpServer: HttpServer
  readonly #options: InboundListenerOptions
  readonly #tlsServer: TlsServer | undefined
  readonly #handshakeTimeoutMs: number
  readonly #sockets = new Set<Socket>()
  readonly #onRotated: (() => void) | undefined

  constructor(handler: RequestListener, options: InboundListenerOptions) {
    if (typeof handler !== 'function') throw new InvalidInboundOptionError('handler', 'a (req, res) function')
    if (typeof options?.mtlsMode !== 'function') {
      throw new InvalidInboundOptionError('mtlsMode', 'a function of the local port returning a mode')
    }
    this.#options = options
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000
    this.httpServer = createHttpServer(options.http ?? {}, (req, res) => {
      // A plaintext connection kept alive from before a change to STRICT gets no further request.
      if ((req.socket as Partial<TLSSocket>).encrypted !== true) {
        const mode = this.#modeOf(req.socket)
        if (mode === undefined || mode === 'STRICT') {
          if (mode) this.#refuse(req.socket, 'plaintext', 'a plaintext request on a port now STRICT', mode)
          req.socket.destroy()
          return
        }
      }
      handler(req, res)
    })
    // The HTTP server is handed connections rather than accepting them. Its own bookkeeping of
    // connections (header and request timeouts, closeIdleConnections) starts on 'listening'.
    this.httpServer.emit('listening')
    const identity = options.identity
    if (identity) {
      const tlsServer = createTlsServer({
        ...identity.tlsOptions(),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        handshakeTimeout: this.#handshakeTimeoutMs,
      })
      tlsServer.on('secureConnection', (socket: TLSSocket) => this.#onSecureConnection(socket, identity))
      tlsServer.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
        this.#refuse(
          socket,
          'handshake',
          error.code ? `${error.code}: ${error.message}` : error.message,
          undefined,
        )
      })
      this.#onRotated = () => tlsServer.setSecureContext(identity.tlsOptions())
      identity.on('rotated', this.#onRotated)
      this.#tlsServer = tlsServer
    }
    // As Node's HTTP server does: small responses go out at once rather than waiting on Nagle.
    this.server = createNetServer({ noDelay: true }, (socket) => this.#onConnection(socket))
  }

  /** Starts listening; resolves to the bound address (`port: 0` picks a free port). */
  listen(port: number, host = '0.0.0.0'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error)
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.removeListener('error', onError)
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  /**
   * Stops accepting, closes idle connections, lets requests in flight finish for up to
   * `drainMs`, then closes whatever is left. Stops following the identity's rotations.
   */
  async close(drainMs = 5000): Promise<void> {
    if (this.#onRotated) this.#options.identity?.removeListener('rotated', this.#onRotated)
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.httpServer.close()
    this.httpServer.closeIdleConnections()
    const sockets = [...this.#sockets]
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(sockets.map((s) => (s.destroyed ? undefined : new Promise((r) => s.once('close', r))))),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, drainMs)
      }),
    ])
    clearTimeout(timer)
    for (const socket of this.#sockets) socket.destroy()
    await closed
  }

  #modeOf(socket: Socket): MtlsMode | undefined {
    try {
      return this.#options.mtlsMode(socket.localPort ?? 0)
    } catch (error) {
      this.#refuse(socket, 'mode-error', error instanceof Error ? error.message : String(error), undefined)
      return undefined
    }
  }

  #onConnection(socket: Socket): void {
    this.#track(socket)
    // Errors after the hand-over are the HTTP or TLS server's; before it, a reset must not crash.
    socket.on('error', () => undefined)
    const mode = this.#modeOf(socket)
    if (mode === undefined) {
      socket.destroy()
      return
    }
    if (mode === 'DISABLE') {
      this.httpServer.emit('connection', socket)
      return
    }
    // Both TLS modes look at the first byte: PERMISSIVE to choose, STRICT to say why it refuses.
    peekFirstByte(socket, this.#handshakeTimeoutMs, (byte) => {
      if (byte === undefined) {
        this.#refuse(socket, 'no-data', 'no byte arrived in time', mode)
        socket.destroy()
      } else if (byte === TLS_HANDSHAKE_RECORD) {
        this.#startTls(socket, mode)
      } else if (mode === 'STRICT') {
        this.#refuse(socket, 'plaintext', 'plaintext on a STRICT port', mode)
        socket.destroy()
      } else {
        this.httpServer.emit('connection', socket)
      }
    })
  }

  #startTls(socket: Socket, mode: MtlsMode): void {
    if (!this.#tlsServer) {
      this.#refuse(socket, 'no-identity', 'this workload has no certificate to answer TLS with', mode)
      socket.destroy()
      return
    }
    this.#tlsServer.emit('connection', socket)
  }

  #onSecureConnection(socket: TLSSocket, identity: WorkloadIdentity): void {
    this.#track(socket)
    const verdict = checkPeerSvid(socket.getPeerX509Certificate(), { trustDomains: identity.trustDomains })
    if (!verdict.ok) {
      this.#refuse(socket, verdict.reason, verdict.detail, undefined)
      socket.destroy()
      return
    }
    this.httpServer.emit('connection', socket)
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket)
    socket.once('close', () => this.#sockets.delete(socket))
  }

  #refuse(socket: Socket, reason: ConnectionRefusalReason, detail: string, mode: MtlsMode | undefined): void {
    this.#options.onConnectionRefused?.({
      reason,
      detail,
      mode,
      localPort: socket.localPort,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
    })
  }
}

/** Creates an `InboundListener`; call `listen(port)` on it. */
export function createInboundListener(
  handler: RequestListener,
  options: InboundListenerOptions,
): InboundListener {
  return new InboundListener(handler, options)
}
