/**
 * One access-log line: the fields of Istio's JSON access log (Envoy's default format), with
 * Envoy's names, plus the trace id and the reporter. `null` where Envoy writes `-`.
 */
export interface AccessLogEntry {
  /** ISO 8601, milliseconds, UTC: `%START_TIME%`. */
  readonly start_time: string
  /** `source` (this process called out) or `destination` (this process was called). */
  readonly reporter: 'source' | 'destination'
  readonly method: string | null
  /** Path and query as sent (`%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%`). */
  readonly path: string | null
  /** `HTTP/1.1`, `HTTP/2`. */
  readonly protocol: string
  /** 0 when no response was sent, as Envoy logs it. */
  readonly response_code: number
  readonly response_flags: string
  readonly grpc_status: number | null
  readonly bytes_received: number
  readonly bytes_sent: number
  readonly duration: number
  readonly upstream_host: string | null
  readonly upstream_cluster: string | null
  readonly request_id: string | null
  readonly authority: string | null
  readonly user_agent: string | null
  readonly x_forwarded_for: string | null
  readonly downstream_remote_address: string | null
  readonly trace_id: string | null
  readonly route_name: string | null
  readonly connection_security_policy: string
  readonly source_principal: string | null
  readonly destination_principal: string | null
  readonly destination_service: string | null
}

/** What a filter may read beside the line itself. */
export interface AccessLogContext {
  readonly scheme: string
  readonly header: (name: string) => string | undefined
  readonly destinationPort: number | undefined
}
