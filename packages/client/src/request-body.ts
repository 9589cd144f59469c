import type { Dispatcher } from 'undici'

/** A body that can be sent again (retries, mirrors): none, a string or bytes; never a stream. */
export function isReplayable(body: Dispatcher.DispatchOptions['body']): boolean {
  return body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array
}
