import { createRequire } from 'node:module'
import type {
  Metadata,
  ServerInterceptingCall,
  ServerInterceptingCallInterface,
  ServerInterceptor,
} from '@grpc/grpc-js'
import { principalOf } from '@weft/identity'
import type { InboundCall } from '@weft/telemetry'
import type { InboundRequest } from './inbound-request.js'
import type { InboundTelemetryHook } from './inbound-telemetry.js'
import type { InboundVerdict } from './inbound-verdict.js'
import type { PolicyPipeline } from './policy-pipeline.js'

type GrpcModule = typeof import('@grpc/grpc-js')

/** Loaded on first use, so that an application without gRPC need not install @grpc/grpc-js. */
let grpcModule: GrpcModule | undefined
function grpc(): GrpcModule {
  grpcModule ??= createRequire(import.meta.url)('@grpc/grpc-js') as GrpcModule
  return grpcModule
}

function headersOf(metadata: Metadata): Record<string, string | readonly string[]> {
  const headers: Record<string, string | readonly string[]> = {}
  for (const [name, values] of Object.entries(metadata.toJSON())) {
    // Binary (`-bin`) values are not text headers; Envoy's matchers see them base64-encoded.
    const texts = values.map((v) => (typeof v === 'string' ? v : v.toString('base64')))
    headers[name] = texts.length === 1 ? (texts[0] as string) : texts
  }
  return headers
}

function inboundFromGrpc(
  path: string,
  metadata: Metadata,
  call: ServerInterceptingCallInterface,
): InboundRequest {
  const connection = call.getConnectionInfo()
  const auth = call.getAuthContext()
  const tls = auth.transportSecurityType === 'ssl'
  return {
    method: 'POST',
    target: path,
    host: call.getHost(),
    headers: headersOf(metadata),
    // grpc-js asks for a client certificate only when it also rejects one it cannot verify.
    principal: tls ? principalOf(auth.sslPeerCertificate) : undefined,
    remoteIp: connection.remoteAddress,
    localIp: connection.localAddress,
    localPort: connection.localPort ?? 0,
    sni: undefined,
    scheme: tls ? 'https' : 'http',
    protocol: 'grpc',
  }
}

/**
 * A @grpc/grpc-js server interceptor enforcing the workload's inbound policy on each call's
 * metadata, before any message reaches the handler: method `POST`, path `/pkg.Service/Method`.
 * Denials end the call with UNAUTHENTICATED (JWT), PERMISSION_DENIED (authorization),
 * RESOURCE_EXHAUSTED (rate limit), the mapped status of an external authorizer's answer, or
 * INTERNAL.
 */
export function grpcInterceptor(
  pipeline: PolicyPipeline,
  telemetry?: InboundTelemetryHook,
): ServerInterceptor {
  const { ServerInterceptingCall, Metadata } = grpc()
  return function weftInbound(method, call) {
    let observed: InboundCall | undefined
    let decided: InboundVerdict | undefined
    const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
      sendStatus(status, next) {
        const denied = decided && !decided.allowed ? decided : undefined
        observed?.end({
          status: 200,
          grpcStatus: status.code,
          ...(denied ? { denial: { stage: denied.stage, policy: undefined } } : {}),
        })
        observed = undefined
        next(status)
      },
      start(next) {
        next({
          onReceiveMetadata(metadata, forward) {
            const request = inboundFromGrpc(method.path, metadata, call)
            if (telemetry) {
              observed = telemetry.start({
                protocol: 'grpc',
                method: 'POST',
                path: method.path,
                authority: request.host,
                headers: request.headers,
                scheme: request.scheme,
                peerPrincipal: request.principal,
                mtls: request.principal !== undefined,
                remoteAddress: request.remoteIp,
                localPort: request.localPort,
              })
            }
            const finish = (verdict: InboundVerdict): void => {
              decided = verdict
              if (!verdict.allowed) {
                const trailers = new Metadata()
                for (const [name, value] of Object.entries(verdict.headers)) trailers.set(name, value)
                intercepted.sendStatus({ code: verdict.grpcCode, details: verdict.body, metadata: trailers })
                return
              }
              for (const name of verdict.removeHeaders) metadata.remove(name)
              for (const [name, value] of Object.entries(verdict.setHeaders)) metadata.set(name, value)
              forward(metadata)
            }
            const verdict = pipeline.evaluate(request)
            if (verdict instanceof Promise) verdict.then(finish)
            else finish(verdict)
          },
        })
      },
    })
    return intercepted
  }
}
