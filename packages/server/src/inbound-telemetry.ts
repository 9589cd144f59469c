import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { InboundCall, InboundEnd, InboundStart } from '@weft/telemetry'
import type { InboundVerdict } from './inbound-verdict.js'
import { peerPrincipal } from './peer-identity.js'

/** What the adapters report each request to: `@weft/telemetry`'s inbound side. */
export interface InboundTelemetryHook {
  start(request: InboundStart): InboundCall
}

/** The telemetry view of a Node request, as it arrived. */
export function telemetryStart(req: IncomingMessage, target: string): InboundStart {
  const socket = req.socket as Partial<TLSSocket>
  const tls = socket.encrypted === true
  const principal = tls ? peerPrincipal(req.socket) : undefined
  return {
    protocol: 'http',
    method: req.method ?? 'GET',
    path: target,
    authority: req.headers.host,
    headers: req.headersDistinct,
    scheme: tls ? 'https' : 'http',
    peerPrincipal: principal,
    mtls: principal !== undefined,
    remoteAddress: req.socket.remoteAddress,
    localPort: req.socket.localPort,
  }
}

function declaredLength(value: string | number | readonly string[] | undefined): number {
  const n = Number(Array.isArray(value) ? value[0] : value)
  return Number.isFinite(n) && n > 0 ? n : 0
}

/**
 * Ends `call` when the response is done: its status, the body sizes the messages declared
 * (`content-length`; 0 for a streamed body), and the policy's denial if it refused the request.
 * A connection that closes before the response finished ends it with an error.
 */
export function endWhenAnswered(
  call: InboundCall,
  req: IncomingMessage,
  res: ServerResponse,
  verdict: () => InboundVerdict | undefined,
): void {
  const end = (error?: Error) => {
    const v = verdict()
    const result: InboundEnd = {
      status: res.statusCode,
      bytesIn: declaredLength(req.headers['content-length']),
      bytesOut: declaredLength(res.getHeader('content-length')),
      ...(error ? { error } : {}),
      ...(v && !v.allowed ? { denial: { stage: v.stage, policy: undefined } } : {}),
    }
    call.end(result)
  }
  res.once('finish', () => end())
  res.once('close', () => {
    if (!res.writableFinished) end(new Error('the connection closed before the response was complete'))
  })
}
