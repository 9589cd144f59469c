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
  /** No answer came (connection refused, reset, timed out): another replica may give one. */
  readonly unreachable: boolean

  constructor(message: string, exitCode: number, lines: readonly string[] = [], unreachable = false) {
    super(message)
    this.exitCode = exitCode
    this.lines = lines
    this.unreachable = unreachable
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

/**
 * One API call to the first replica that answers (the next is tried only when one cannot be
 * reached: a refusal is an answer); the value and who gave it.
 */
export async function callAnyApi<T>(
  options: RemoteOptions,
  method: Method,
  path: string,
  body?: Body,
): Promise<{ server: string; value: T }> {
  const servers = serversOf(options)
  let unreachable: RemoteError | undefined
  for (const server of servers) {
    try {
      return { server, value: await callApiAt<T>(server, options, method, path, body) }
    } catch (error) {
      if (!(error instanceof RemoteError) || !error.unreachable) throw error
      unreachable = error
    }
  }
  throw unreachable as RemoteError
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
  let res: Awaited<ReturnType<typeof request>>
  try {
    res = await request(`${server}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokenOf(options)}`,
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
      true,
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
