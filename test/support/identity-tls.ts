// Clients for identity tests: HTTP over plaintext or mutual TLS with undici, one new connection
// per client so that every call makes its own handshake.
import type { ConnectionOptions } from 'node:tls'
import { Client } from 'undici'

export interface Reply {
  readonly status: number
  readonly body: string
}

/** One GET over a new connection; `tls` absent means plaintext. Closes the connection after. */
export async function get(port: number, tls?: ConnectionOptions, path = '/'): Promise<Reply> {
  const client = new Client(`${tls ? 'https' : 'http'}://127.0.0.1:${port}`, {
    ...(tls ? { connect: tls } : {}),
    connectTimeout: 5000,
    headersTimeout: 5000,
    bodyTimeout: 5000,
  })
  try {
    const res = await client.request({ method: 'GET', path })
    return { status: res.statusCode, body: await res.body.text() }
  } finally {
    await client.destroy()
  }
}

/** TLS options presenting `pem` and trusting `ca`, with no host-name check (the server is an IP). */
export function presenting(pem: { certPem: string; keyPem: string }, ca: string): ConnectionOptions {
  return {
    cert: pem.certPem,
    key: pem.keyPem,
    ca,
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
  }
}
