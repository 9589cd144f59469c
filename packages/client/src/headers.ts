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
