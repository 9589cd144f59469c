import { request } from 'undici'
import { ExitCode } from '../errors.js'

/** Where `weft` finds the control plane and which credential it shows. */
export interface RemoteOptions {
  readonly server?: string
  readonly token?: string
}

/** A control-plane answer `weft` reports and exits on: refused (1) or unreachable / not allowed (3). */
export class RemoteError extends Error {
  override name = 'RemoteError'
  readonly code = 'WEFT_CLI_REMOTE'
  readonly exitCode: number
  readonly lines: readonly string[]
  /** No answer came: the connection failed, or broke before the answer. */
  readonly unreachable: boolean
  /** The connection was never made, so the request was not sent: another replica may take it. */
  readonly notSent: boolean

  constructor(
    message: string,
    exitCode: number,
    lines: readonly string[] = [],
    transport: { unreachable: boolean; notSent: boolean } = { unreachable: false, notSent: false },
  ) {
    super(message)
    this.exitCode = exitCode
    this.lines = lines
    this.unreachable = transport.unreachable
    this.notSent = transport.notSent
  }
}

export const DEFAULT_SERVER = 'http://127.0.0.1:15010'

/** Every control-plane replica named, in order: `--server` or WEFT_SERVER take a comma-separated list. */
export function serversOf(options: RemoteOptions): string[] {
  const named = (options.server ?? process.env.WEFT_SERVER ?? DEFAULT_SERVER)
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter((s) => s !== '')
  return named.length > 0 ? named : [DEFAULT_SERVER]
}

function tokenOf(options: RemoteOptions): string {
  const token = options.token ?? process.env.WEFT_TOKEN ?? process.env.WEFT_ADMIN_TOKEN
  if (!token) {
    throw new RemoteError(
      'no credential: set WEFT_TOKEN (the admin token is in the control plane’s data directory, file admin-token)',
      ExitCode.unreachable,
    )
  }
  return token
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'
type Body = { json: unknown } | { text: string }

/** Errors of a connection that was never made: nothing was sent, so another replica may take the request. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
])

/**
 * One API call to the first replica that takes it; the value and who gave it. The next replica
 * is tried only when one could not be connected to: a refusal is an answer, and a request that
 * may have been sent is not sent twice (an apply, a delete).
 */
export async function callAnyApi<T>(
  options: RemoteOptions,
  method: Method,
  path: string,
  body?: Body,
): Promise<{ server: string; value: T }> {
  const servers = serversOf(options)
  let notConnected: RemoteError | undefined
  for (const server of servers) {
    try {
      return { server, value: await callApiAt<T>(server, options, method, path, body) }
    } catch (error) {
      if (!(error instanceof RemoteError) || !error.notSent) throw error
      notConnected = error
    }
  }
  throw notConnected as RemoteError
}

/** One API call; a refusal becomes a RemoteError carrying the control plane's message and lines. */
export async function callApi<T>(
  options: RemoteOptions,
  method: Method,
  path: string,
  body?: Body,
): Promise<T> {
  return (await callAnyApi<T>(options, method, path, body)).value
}

/** One API call to `server`, one replica. */
export async function callApiAt<T>(
  server: string,
  options: RemoteOptions,
  method: Method,
  path: string,
  body?: Body,
): Promise<T> {
  const token = tokenOf(options)
  let res: Awaited<ReturnType<typeof request>>
  try {
    res = await request(`${server}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body && 'json' in body ? { 'content-type': 'application/json' } : {}),
        ...(body && 'text' in body ? { 'content-type': 'application/yaml' } : {}),
      },
      ...(body ? { body: 'json' in body ? JSON.stringify(body.json) : body.text } : {}),
    })
  } catch (error) {
    throw new RemoteError(
      `cannot reach the control plane at ${server}: ${(error as Error).message} (set --server or WEFT_SERVER)`,
      ExitCode.unreachable,
      [],
      { unreachable: true, notSent: CONNECT_FAILURES.has((error as { code?: string }).code ?? '') },
    )
  }
  const text = await res.body.text()
  const value = text
    ? (JSON.parse(text) as T & { code?: string; message?: string; errors?: string[] })
    : undefined
  if (res.statusCode >= 400) {
    const failure = value as { code?: string; message?: string; errors?: string[] } | undefined
    const exit =
      res.statusCode === 401 || res.statusCode === 403 || res.statusCode >= 500
        ? ExitCode.unreachable
        : ExitCode.invalid
    throw new RemoteError(
      `${failure?.message ?? `HTTP ${res.statusCode}`}${failure?.code ? ` (${failure.code})` : ''}`,
      exit,
      failure?.errors ?? [],
    )
  }
  return value as T
}
