import { celEnv, isCelError, parse, plan } from '@bufbuild/cel'
import type { AccessLogContext, AccessLogEntry } from './access-log-entry.js'

/** A compiled access-log `filter.expression`: true when the entry is to be written. */
export type AccessLogFilter = (entry: AccessLogEntry, context: AccessLogContext) => boolean

const env = celEnv()

// The headers an expression indexes (`request.headers['x-user']`): only those are copied into its map.
const HEADER_REFERENCE = /request\.headers\[\s*(['"])([^'"]+)\1\s*\]/g

/**
 * Envoy's CEL access-log filter, over the attributes of Envoy's vocabulary that an in-process
 * mesh knows: `request.{method,path,url_path,host,scheme,protocol,headers,id,size,duration}`,
 * `response.{code,flags,grpc_status,size}`, `connection.mtls`, `source.{principal,address}`,
 * `destination.{principal,port}`, `upstream.address`. Integers are CEL ints, as Envoy presents
 * them. An expression that fails to evaluate (an absent header indexed, a type error) logs
 * nothing. Throws on a syntax error (validation refuses those before they get here).
 */
export function compileAccessLogFilter(expression: string): AccessLogFilter {
  const run = plan(env, parse(expression))
  const headers = [...expression.matchAll(HEADER_REFERENCE)].map((m) => (m[2] as string).toLowerCase())
  return (entry, context) => {
    try {
      const result = run(activation(entry, context, headers))
      return !isCelError(result) && result === true
    } catch {
      return false
    }
  }
}

function activation(e: AccessLogEntry, context: AccessLogContext, headerNames: readonly string[]) {
  const headers: Record<string, string> = {}
  for (const name of headerNames) {
    const value = context.header(name)
    if (value !== undefined) headers[name] = value
  }
  const url = e.path ?? ''
  const query = url.indexOf('?')
  return {
    request: {
      method: e.method ?? '',
      path: url,
      url_path: query < 0 ? url : url.slice(0, query),
      host: e.authority ?? '',
      scheme: context.scheme,
      protocol: e.protocol,
      headers,
      id: e.request_id ?? '',
      size: BigInt(e.bytes_received),
      duration: BigInt(e.duration),
    },
    response: {
      code: BigInt(e.response_code),
      flags: e.response_flags,
      grpc_status: BigInt(e.grpc_status ?? -1),
      size: BigInt(e.bytes_sent),
    },
    connection: { mtls: e.connection_security_policy === 'mutual_tls' },
    source: { principal: e.source_principal ?? '', address: e.downstream_remote_address ?? '' },
    destination: { principal: e.destination_principal ?? '', port: BigInt(context.destinationPort ?? 0) },
    upstream: { address: e.upstream_host ?? '' },
  }
}
