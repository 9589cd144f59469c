import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where the dashboard is mounted on the control plane's port. */
export const DASHBOARD_PATH = '/dashboard/'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

const PUBLIC = fileURLToPath(new URL('../public/', import.meta.url))

/**
 * The files the page may load, fixed when the handler is made: the package's `public/` folder
 * and the graph library from `node_modules` (installed by `pnpm install`, never a CDN). A fixed
 * table means no request path ever reaches the file system.
 */
function assetTable(files: readonly string[]): Map<string, string> {
  const require = createRequire(import.meta.url)
  const table = new Map<string, string>()
  for (const file of files) table.set(file, join(PUBLIC, file))
  table.set('vendor/cytoscape.min.js', join(require.resolve('cytoscape'), '../cytoscape.min.js'))
  return table
}

/**
 * A request handler for the dashboard's static files. It answers GET and HEAD under
 * `/dashboard/` and returns false for every other request so the caller can route it. The page
 * holds no data: it reads the control plane's API with the token it is given.
 */
export function createDashboardHandler(
  files: readonly string[] = [
    'index.html',
    'favicon.svg',
    'dashboard.css',
    'dashboard.js',
    'api-client.js',
    'format.js',
    'layered-layout.js',
    'graph-view.js',
    'edges-view.js',
    'service-detail.js',
    'config-view.js',
  ],
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const table = assetTable(files)
  const cache = new Map<string, Buffer>()
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/'
    if (path === '/dashboard') {
      res.writeHead(308, { location: DASHBOARD_PATH }).end()
      return true
    }
    if (!path.startsWith(DASHBOARD_PATH)) return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return true
    }
    const name = path.slice(DASHBOARD_PATH.length) || 'index.html'
    const file = table.get(name)
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`no dashboard file ${name}\n`)
      return true
    }
    const cached = cache.get(file)
    const loaded = cached ? Promise.resolve(cached) : readFile(file)
    loaded.then(
      (body) => {
        cache.set(file, body)
        res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'content-length': body.length,
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
          'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'",
        })
        res.end(req.method === 'HEAD' ? undefined : body)
      },
      (error: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${error.message}\n`)
      },
    )
    return true
  }
}
