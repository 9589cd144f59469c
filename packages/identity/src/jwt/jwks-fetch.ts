import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { FetchImplementation } from 'jose'

/** What fetches a `jwksUri`: jose's custom fetch signature. */
export type JwksFetch = FetchImplementation

/** A key set larger than this is refused: no issuer publishes one, and it would be held in memory. */
const MAX_JWKS_BYTES = 1 << 20

/**
 * The default JWKS fetch: a plain `node:http(s)` GET on a connection of its own. It never goes
 * through `globalThis.fetch` or undici's global dispatcher, so an application that routes its
 * own traffic through the mesh does not mesh (or trace, or deny) the mesh's key fetches.
 */
export const fetchJwksDirect: JwksFetch = (url, init) =>
  new Promise<Response>((resolve, reject) => {
    const target = new URL(url)
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest
    const headers: Record<string, string> = {}
    init.headers.forEach((value, name) => {
      headers[name] = value
    })
    const req = send(target, { method: 'GET', headers, agent: false, signal: init.signal }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_JWKS_BYTES)
          req.destroy(new Error(`JWKS at ${target.origin} exceeds ${MAX_JWKS_BYTES} bytes`))
        else chunks.push(chunk)
      })
      res.on('error', reject)
      res.on('end', () => {
        const status = res.statusCode ?? 502
        const body = status === 204 || status === 304 ? null : Buffer.concat(chunks)
        resolve(new Response(body, { status: status < 200 || status > 599 ? 502 : status }))
      })
    })
    req.on('error', reject)
    req.end()
  })
