import type { CallerAbort } from './caller-abort.js'
import { toRawHeaders } from './headers.js'
import type { LegacyHandler } from './legacy-handler.js'

const noop = () => {}

/**
 * Answers a request through the handler without any upstream, as Envoy answers a direct
 * response, a redirect, an injected abort or a local failure: headers, then the body, then the
 * end. A caller that aborts meanwhile (through `cancel`, whose abort function it holds) gets its
 * error callback instead of the rest, as undici's own dispatchers do.
 */
export function respondLocally(
  handler: LegacyHandler,
  cancel: CallerAbort,
  statusCode: number,
  headers: Record<string, string>,
  body = '',
): void {
  cancel.listen(noop)
  if (cancel.reason) {
    handler.onError(cancel.reason)
    return
  }
  const payload = Buffer.from(body)
  const all: Record<string, string> = { ...headers, 'content-length': String(payload.length) }
  if (payload.length > 0 && !('content-type' in all)) all['content-type'] = 'text/plain'
  // No upstream stands behind the answer: a request to pause has nothing to hold back.
  handler.onHeaders(statusCode, toRawHeaders(all), noop, statusText(statusCode))
  if (cancel.reason) {
    handler.onError(cancel.reason)
    return
  }
  if (payload.length > 0) handler.onData(payload)
  if (cancel.reason) {
    handler.onError(cancel.reason)
    return
  }
  handler.onComplete([])
}

const TEXT: Record<number, string> = {
  200: 'OK',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  404: 'Not Found',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

function statusText(status: number): string {
  return TEXT[status] ?? ''
}
