// The control plane's API as the page reads it: every call carries the viewer token as a Bearer
// header. The graph stream is read with fetch() rather than EventSource, which cannot send headers
// (a token in the URL would land in logs and history).

const TOKEN_KEY = 'weft.dashboard.token'

/** A refusal of the token (401/403): the page shows how to get a new one instead of retrying. */
export class TokenRefusedError extends Error {
  name = 'TokenRefusedError'
  code = 'WEFT_DASHBOARD_TOKEN_REFUSED'
}

/** An answer the page cannot use (any other HTTP error, or the control plane unreachable). */
export class ApiError extends Error {
  name = 'ApiError'
  code = 'WEFT_DASHBOARD_API'
  constructor(message, status) {
    super(message)
    this.status = status
  }
}

/**
 * Takes the token from the address bar's fragment (`#token=…`, where `weft dashboard` puts it:
 * a fragment never reaches a server), keeps it for this tab in sessionStorage, and removes it
 * from the address bar so that it is neither bookmarked nor shared by accident.
 */
export function takeToken(location = window.location, history = window.history, storage = sessionStorage) {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''))
  const fromUrl = fragment.get('token')
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl)
    fragment.delete('token')
    const rest = fragment.toString()
    history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`)
  }
  return storage.getItem(TOKEN_KEY) ?? undefined
}

export function saveToken(token, storage = sessionStorage) {
  storage.setItem(TOKEN_KEY, token)
}

export function forgetToken(storage = sessionStorage) {
  storage.removeItem(TOKEN_KEY)
}

async function failure(res, path) {
  let message = `HTTP ${res.status}`
  try {
    const body = await res.json()
    if (body?.message) message = `${body.message}${body.code ? ` (${body.code})` : ''}`
  } catch {
    // The body was not JSON: the status says enough.
  }
  if (res.status === 401 || res.status === 403) return new TokenRefusedError(message)
  return new ApiError(`GET ${path}: ${message}`, res.status)
}

/** A client of the control plane's read API for one token. */
export function createApiClient(token, base = '/api/v1') {
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json' }

  async function get(path, signal) {
    let res
    try {
      res = await fetch(`${base}${path}`, { headers, signal, cache: 'no-store' })
    } catch (error) {
      if (error.name === 'AbortError') throw error
      throw new ApiError(`GET ${path}: the control plane cannot be reached (${error.message})`, 0)
    }
    if (!res.ok) throw await failure(res, path)
    return res.json()
  }

  return {
    graph: (windowSeconds, signal) => get(`/graph?window=${windowSeconds}`, signal),
    service: (namespace, name, signal) =>
      get(`/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, signal),
    config: (signal) => get('/config', signal),

    /**
     * Reads `event: graph` messages from the stream until `signal` aborts; reconnects after a
     * dropped stream with a growing pause (up to 10 s). Calls `onStatus` with 'connecting',
     * 'live', 'retrying' or a TokenRefusedError (then it stops: a new token is needed).
     */
    async streamGraph(windowSeconds, { onGraph, onStatus, signal }) {
      let pauseMs = 500
      while (!signal.aborted) {
        onStatus('connecting')
        try {
          const res = await fetch(`${base}/graph/stream?window=${windowSeconds}`, {
            headers: { ...headers, accept: 'text/event-stream' },
            signal,
            cache: 'no-store',
          })
          if (!res.ok) throw await failure(res, '/graph/stream')
          onStatus('live')
          pauseMs = 500
          for await (const message of readEvents(res.body, signal)) {
            if (message.event === 'graph') onGraph(JSON.parse(message.data))
          }
        } catch (error) {
          if (signal.aborted) return
          if (error instanceof TokenRefusedError) {
            onStatus(error)
            return
          }
          onStatus('retrying', error)
        }
        if (signal.aborted) return
        await pause(pauseMs, signal)
        pauseMs = Math.min(10_000, pauseMs * 2)
      }
    },
  }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })
}

/**
 * The messages of a `text/event-stream` body, as the HTML standard parses them: fields
 * `event`, `data` (lines joined by newlines), comments ignored, a blank line ends a message.
 */
export async function* readEvents(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  const stop = () => reader.cancel().catch(() => {})
  signal?.addEventListener('abort', stop, { once: true })
  let buffered = ''
  let event = 'message'
  let data = []
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffered += value
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const raw of lines) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
        if (line === '') {
          if (data.length > 0) yield { event, data: data.join('\n') }
          event = 'message'
          data = []
          continue
        }
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon < 0 ? line : line.slice(0, colon)
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'event') event = text
        else if (field === 'data') data.push(text)
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop)
  }
}
