import type { NextFunction, Request, Response } from 'express'
import { endWhenAnswered, type InboundTelemetryHook, telemetryStart } from './inbound-telemetry.js'
import type { InboundVerdict } from './inbound-verdict.js'
import { applyAllow, type InboundIdentity, identityOf, inboundFromNode, writeDeny } from './node-request.js'
import type { PolicyPipeline } from './policy-pipeline.js'

declare global {
  namespace Express {
    interface Request {
      /** Who the mesh says sent this request; set by Weft's inbound middleware. */
      weft?: InboundIdentity
    }
  }
}

export type ExpressMiddleware = (req: Request, res: Response, next: NextFunction) => void

/**
 * Express 5 middleware enforcing the workload's inbound policy. Mount it first, at the root
 * (`app.use(mesh.express())`): it reads the request target as received (`req.originalUrl`) and
 * hands the application the normalised path in `req.url`, as Envoy forwards it.
 */
export function expressMiddleware(
  pipeline: PolicyPipeline,
  telemetry?: InboundTelemetryHook,
): ExpressMiddleware {
  function decide(req: Request, res: Response, next: NextFunction): InboundVerdict | Promise<InboundVerdict> {
    const verdict = pipeline.evaluate(inboundFromNode(req, req.originalUrl ?? req.url))
    if (verdict instanceof Promise) verdict.then((v) => finish(v, req, res, next), next)
    else finish(verdict, req, res, next)
    return verdict
  }
  return function weftInbound(req, res, next) {
    if (!telemetry) {
      decide(req, res, next)
      return
    }
    const call = telemetry.start(telemetryStart(req, req.originalUrl ?? req.url))
    let decided: InboundVerdict | undefined
    endWhenAnswered(call, req, res, () => decided)
    // The rest of the chain runs in the request's scope: its calls carry its trace and request id.
    call.run(() => {
      const verdict = decide(req, res, next)
      if (verdict instanceof Promise) verdict.then((v) => (decided = v))
      else decided = verdict
    })
  }
}

function finish(verdict: InboundVerdict, req: Request, res: Response, next: NextFunction): void {
  if (!verdict.allowed) {
    writeDeny(res, verdict)
    return
  }
  applyAllow(req, verdict)
  for (const [name, value] of Object.entries(verdict.responseHeaders)) res.setHeader(name, value)
  req.weft = identityOf(verdict)
  next()
}
