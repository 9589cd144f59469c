import { request } from 'undici'

/**
 * One call to a control plane's HTTP API as tests make it: a bearer token (none to test the
 * refusal), a JSON body for objects, the answer parsed when there is one.
 */
export async function callApi(
  url: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: string | object,
  options: { headersTimeout?: number } = {},
) {
  const res = await request(`${url}${path}`, {
    method: method as 'GET',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(typeof body === 'object' ? { 'content-type': 'application/json' } : {}),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    ...options,
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

/** Polls `check` every 20 ms until it holds; throws past `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}
