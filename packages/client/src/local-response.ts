import type { Dispatcher } from 'undici'
import { ProxyController } from './proxy-controller.js'

/**
 * Answers a request through the handler without any upstream, as Envoy answers a direct
 * response, a redirect, an injected abort or a local failure: headers, then the body, then the end.
 */
export function respondLocally(
  handler: Dispatcher.DispatchHandler,
  statusCode: number,
  headers: Record<string, string>,
  body = '',
): void {
  // No upstream stands behind this controller: it only records what the caller asks of it.
  const controller = new ProxyController()
  const payload = Buffer.from(body)
  const all: Record<string, string> = { ...headers, 'content-length': String(payload.length) }
  if (payload.length > 0 && !('content-type' in all)) all['content-type'] = 'text/plain'
  handler.onRequestStart?.(controller, {})
  if (controller.aborted) return
  handler.onResponseStart?.(controller, statusCode, all, statusText(statusCode))
  if (controller.aborted) return
  if (payload.length > 0) handler.onResponseData?.(controller, payload)
  if (controller.aborted) return
  handler.onResponseEnd?.(controller, {})
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
