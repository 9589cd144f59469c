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

  constructor(message: string, exitCode: number, lines: readonly string[] = []) {
    super(message)
    this.exitCode = exitCode
    this.lines = lines
  }
}

export const DEFAULT_SERVER = 'http://127.0.0.1:15010'

export function serverOf(options: RemoteOptions): string {
  return (options.server ?? process.env.WEFT_SERVER ?? DEFAULT_SERVER).replace(/\/+$/, '')
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

/** One API call; a refusal becomes a RemoteError carrying the control plane's message and lines. */
export async function callApi<T>(
  options: RemoteOptions,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: { json: unknown } | { text: string },
): Promise<T> {
  const server = serverOf(options)
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
