import type { FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { endWhenAnswered, type InboundTelemetryHook, telemetryStart } from './inbound-telemetry.js'
import type { InboundVerdict } from './inbound-verdict.js'
import { applyAllow, type InboundIdentity, identityOf, inboundFromNode } from './node-request.js'
import type { PolicyPipeline } from './policy-pipeline.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the mesh says sent this request; null until Weft's `onRequest` hook allowed it. */
    weft: InboundIdentity | null
  }
}

/**
 * A Fastify 5 plugin (through fastify-plugin, so it governs every route of the instance) that
 * enforces the workload's inbound policy in an `onRequest` hook and decorates `request.weft`.
 * Fastify routes before `onRequest` runs; to route on the normalised path as Envoy would, also
 * pass the policy's `rewriteUrl` to `fastify({ rewriteUrl })`.
 */
export function fastifyPlugin(
  pipeline: PolicyPipeline,
  telemetry?: InboundTelemetryHook,
): FastifyPluginCallback {
  function decide(request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) {
    const verdict = pipeline.evaluate(inboundFromNode(request.raw, request.originalUrl))
    if (verdict instanceof Promise) verdict.then((v) => finish(v, request, reply, next), next)
    else finish(verdict, request, reply, next)
    return verdict
  }
  function weftInbound(
    fastify: Parameters<FastifyPluginCallback>[0],
    _options: unknown,
    done: (error?: Error) => void,
  ): void {
    fastify.decorateRequest('weft', null)
    fastify.addHook('onRequest', function weftInboundHook(request, reply, next) {
      if (!telemetry) {
        decide(request, reply, next)
        return
      }
      const call = telemetry.start(telemetryStart(request.raw, request.originalUrl))
      let decided: InboundVerdict | undefined
      endWhenAnswered(call, request.raw, reply.raw, () => decided)
      call.run(() => {
        const verdict = decide(request, reply, next)
        if (verdict instanceof Promise) verdict.then((v) => (decided = v))
        else decided = verdict
      })
    })
    done()
  }
  return fp(weftInbound, { name: '@weft/server', fastify: '5.x' })
}

function finish(
  verdict: InboundVerdict,
  request: FastifyRequest,
  reply: FastifyReply,
  next: HookHandlerDoneFunction,
): void {
  if (!verdict.allowed) {
    reply.code(verdict.status).headers(verdict.headers)
    if (!reply.hasHeader('content-type') && verdict.body !== '') reply.type('text/plain')
    reply.send(Buffer.from(verdict.body))
    return
  }
  applyAllow(request.raw, verdict)
  const response = verdict.responseHeaders
  for (const name in response) reply.header(name, response[name])
  request.weft = identityOf(verdict)
  next()
}
