import { spawn } from 'node:child_process'
import { ExitCode } from '../errors.js'
import type { Io } from '../io.js'
import { callAnyApi, type RemoteOptions } from './remote.js'

export interface DashboardOptions extends RemoteOptions {
  readonly output?: 'text' | 'json'
  readonly open?: boolean
}

// A browser launcher that has not returned by then is taken to have opened the page.
const OPEN_WAIT_MS = 3000

/** Resolves true when the desktop's launcher (macOS `open`, else `xdg-open`) took the URL. */
function openInBrowser(url: string): Promise<boolean> {
  if (process.platform === 'win32') return Promise.resolve(false)
  const command = process.platform === 'darwin' ? 'open' : 'xdg-open'
  return new Promise((resolve) => {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true })
    const timer = setTimeout(() => {
      child.unref()
      resolve(true)
    }, OPEN_WAIT_MS)
    child.once('error', () => {
      clearTimeout(timer)
      resolve(false)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code === 0)
    })
  })
}

/**
 * `weft dashboard`: mints a viewer token with the admin credential and prints the dashboard's
 * address with the token in its fragment — the part of a URL a browser never sends — so that
 * the page can read the API while the admin token stays in the terminal.
 */
export async function dashboardCommand(options: DashboardOptions, io: Io): Promise<number> {
  const { server, value } = await callAnyApi<{ token: string }>(options, 'POST', '/api/v1/tokens', {
    json: { viewer: true },
  })
  const url = `${server}/dashboard/#token=${encodeURIComponent(value.token)}`
  const opened = options.open === true && (await openInBrowser(url))
  if (options.open && !opened)
    io.err('could not start a browser (xdg-open or open): open the address yourself\n')
  if (options.output === 'json') {
    io.out(`${JSON.stringify({ url }, null, 2)}\n`)
    return ExitCode.ok
  }
  if (opened) {
    io.err('opened the dashboard in your browser (a read-only viewer token is in its address)\n')
    return ExitCode.ok
  }
  io.out(`${url}\n`)
  io.err('the token in this address reads the mesh and changes nothing; keep it to yourself\n')
  return ExitCode.ok
}
