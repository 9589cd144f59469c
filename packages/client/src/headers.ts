import type { HeaderOperations } from '@weft/config'
import type { Dispatcher } from 'undici'

/** Headers with lower-cased names; a repeated header keeps every value. */
export type Headers = Record<string, string | string[]>

export function headerRecord(headers: Dispatcher.DispatchOptions['headers']): Headers {
  const out: Headers = {}
  if (!headers) return out
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2)
      addHeader(out, String(headers[i]), headers[i + 1] as string | string[])
  } else if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of headers as Iterable<[string, string | string[]]>) addHeader(out, name, value)
  } else {
    const record = headers as Record<string, string | string[] | undefined>
    for (const name in record) {
      const value = record[name]
      if (value !== undefined) addHeader(out, name, value)
    }
  }
  return out
}

export function addHeader(out: Headers, name: string, value: string | string[]): void {
  const key = name.toLowerCase()
  const existing = out[key]
  out[key] = existing === undefined ? value : ([] as string[]).concat(existing, value)
}

/** One value, several joined with `,` as Envoy reads them. */
export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value
}

/** Remove, then set, then add: Envoy's order within one level. */
export function applyOperations(headers: Headers, operations: readonly HeaderOperations[]): void {
  for (const ops of operations) {
    for (const name of ops.remove) delete headers[name]
    for (const [name, value] of ops.set) headers[name] = value
    for (const [name, value] of ops.add) addHeader(headers, name, value)
  }
}

/** Raw headers (`[name, value, …]` as undici's parser delivers them) as a record. */
export function parseRawHeaders(raw: readonly (Buffer | string)[]): Headers {
  const out: Headers = {}
  for (let i = 0; i + 1 < raw.length; i += 2)
    addHeader(out, String(raw[i]), (raw[i + 1] as Buffer | string).toString('latin1'))
  return out
}

/**
 * One header's value from raw headers, without parsing the rest: names of another length are
 * skipped unread. `name` is lower case.
 */
export function rawHeaderValue(raw: readonly (Buffer | string)[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as Buffer | string
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name)
      return (raw[i + 1] as Buffer | string).toString('latin1')
  }
  return undefined
}

/** A record back to raw headers, a repeated header as one entry per value. */
export function toRawHeaders(headers: Headers): Buffer[] {
  const raw: Buffer[] = []
  for (const name in headers) {
    const value = headers[name] as string | string[]
    const key = Buffer.from(name, 'latin1')
    if (Array.isArray(value)) for (const v of value) raw.push(key, Buffer.from(v, 'latin1'))
    else raw.push(key, Buffer.from(value, 'latin1'))
  }
  return raw
}
