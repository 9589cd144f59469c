/** Request headers: lower-case names, a repeated header as a list (Node's `headersDistinct`). */
export type InboundHeaders = Readonly<Record<string, string | readonly string[] | undefined>>

/**
 * One inbound request as every adapter describes it to the pipeline, whatever the framework:
 * what Envoy's inbound listener would know of it.
 */
export interface InboundRequest {
  /** `GET` as received; gRPC is `POST`. */
  readonly method: string
  /** The request target as received, path and query, not cleaned by anyone (`req.url`). */
  readonly target: string
  /** `Host` / `:authority` as received, port included. */
  readonly host: string | undefined
  readonly headers: InboundHeaders
  /** The peer's SPIFFE ID without `spiffe://`, from a verified client certificate; none in plaintext. */
  readonly principal: string | undefined
  readonly remoteIp: string | undefined
  readonly localIp: string | undefined
  readonly localPort: number
  /** TLS server name the client asked for. */
  readonly sni: string | undefined
  readonly scheme: 'http' | 'https'
  readonly protocol: 'http' | 'grpc'
}
