/**
 * What an authorization decision reads from one inbound request. The adapter (Express,
 * Fastify, gRPC) fills it; everything in it is as Envoy's RBAC filter would see it.
 */
export interface AuthorizationRequest {
  /** As received (`GET`); gRPC is always `POST`. */
  readonly method: string
  /**
   * The path after `normalizePath` (Istio's `pathNormalization`), without the query: what
   * `paths` match. For gRPC, `/package.Service/Method`.
   */
  readonly path: string
  /**
   * The query as received, `''` or starting with `?` (`normalizePath`'s `query`): only
   * `request.headers[:path]` reads it, as Envoy's `:path` keeps it.
   */
  readonly query?: string
  /**
   * `Host` or `:authority` as received, port included if the client sent one: Istio's `hosts`
   * do not strip it, so `example.com` does not match `example.com:8080`.
   */
  readonly host?: string
  /**
   * Request headers, names lower-cased. A repeated header should arrive as a list (Node's
   * `req.headersDistinct`), which is matched joined with `,` as Envoy joins it. `host`,
   * `:authority`, `:method` and `:path` are read from the fields above, not from here.
   */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  readonly source: {
    /**
     * The peer's SPIFFE ID without `spiffe://` (`cluster.local/ns/NS/sa/SA`), from a verified
     * mTLS certificate; absent for a plaintext peer. `namespaces`, `serviceAccounts` and
     * `trustDomains` are all read from it, as Istio reads them from the peer certificate.
     */
    readonly principal?: string
    /** The socket peer's address: `ipBlocks` and `source.ip`. */
    readonly ip?: string
    /**
     * The original client's address when trusted proxies tell it (`X-Forwarded-For`,
     * PROXY protocol): `remoteIpBlocks` and `remote.ip`. Defaults to `ip`, as Envoy's remote
     * address is the peer's unless told otherwise.
     */
    readonly remoteIp?: string
  }
  readonly destination: {
    /** The local address the request arrived on: `destination.ip`. */
    readonly ip?: string
    /** The local port the request arrived on: `ports` and `destination.port`. */
    readonly port: number
  }
  /**
   * Present only when RequestAuthentication verified a JWT: its payload, space-delimited claims
   * (`scope`, `permission` and those the rule lists) already split into lists.
   * `request.auth.principal` is `iss`/`sub`, `audiences` is `aud`, `presenter` is `azp`, all
   * read from here as Envoy reads them from the JWT filter's metadata.
   */
  readonly auth?: { readonly claims: Readonly<Record<string, unknown>> }
  /** TLS server name indication, if the connection had one: `connection.sni`. */
  readonly sni?: string
}
