import { experimental, InterceptingCall, type Interceptor, Metadata, type StatusObject } from '@grpc/grpc-js'
import type { HeaderOperations } from '@weft/config'
import type { RouteTarget } from '@weft/core'
import { type OutboundRequestEvent, type OutboundRequestHook, report } from '../request-event.js'
import { type OutboundTelemetry, observe } from '../request-observer.js'
import { RESPONSE_FLAGS_HEADER } from '../response-flags.js'

/**
 * What the mesh learns about one gRPC call as it goes: the interceptor opens it, the config
 * selector adds the route. grpc-js copies a call's metadata on its way to the selector, so the
 * two meet through a call id the interceptor puts in the metadata and the call's filter takes
 * out again before anything is sent.
 */
export interface GrpcCallRecord {
  readonly startedAtMs: number
  host: string | undefined
  rule: string | undefined
  target: RouteTarget | undefined
  readonly flags: string[]
}

export const CALL_ID_KEY = 'x-weft-call-id'

/** Calls in flight by id. */
export class GrpcCalls {
  readonly #byId = new Map<string, GrpcCallRecord>()
  #nextId = 0

  open(metadata: Metadata, record: GrpcCallRecord): string {
    const id = String(++this.#nextId)
    metadata.set(CALL_ID_KEY, id)
    this.#byId.set(id, record)
    return id
  }

  of(metadata: Metadata): GrpcCallRecord | undefined {
    const id = metadata.get(CALL_ID_KEY)[0]
    return id === undefined ? undefined : this.#byId.get(String(id))
  }

  close(id: string): void {
    this.#byId.delete(id)
  }
}

/** What the filter does to one routed call. */
export interface CallActions {
  readonly requestHeaders: readonly HeaderOperations[]
  readonly delayMs: number
  /** An injected abort: the call fails with this status once the delay (if any) has passed. */
  readonly abortCode: number | undefined
}

/**
 * The per-call filter the config selector installs for a routed call: the route's request
 * header operations on the call's metadata, then Envoy's fault filter — an injected delay before
 * the call is sent, an injected abort instead of sending it. The delay counts toward the call's
 * deadline, which grpc-js starts when the route is chosen.
 */
class MeshCallFilter extends experimental.BaseFilter {
  readonly #actions: CallActions

  constructor(actions: CallActions) {
    super()
    this.#actions = actions
  }

  override async sendMetadata(metadata: Promise<Metadata>): Promise<Metadata> {
    const md = await metadata
    md.remove(CALL_ID_KEY)
    const { requestHeaders, delayMs, abortCode } = this.#actions
    for (const ops of requestHeaders) {
      for (const name of ops.remove) md.remove(name)
      for (const [name, value] of ops.set) md.set(name, value)
      for (const [name, value] of ops.add) md.add(name, value)
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
    if (abortCode !== undefined) {
      // grpc-js ends the call with a filter's rejection, which must be a status object.
      throw {
        code: abortCode,
        details: 'fault filter abort',
        metadata: new Metadata(),
      } satisfies StatusObject
    }
    return md
  }
}

export function meshCallFilter(actions: CallActions): experimental.FilterFactory<experimental.Filter> {
  return { createFilter: () => new MeshCallFilter(actions) }
}

/**
 * The mesh's gRPC client interceptor: it opens each call's record, and when the call ends
 * reports it to the telemetry hook and adds the mesh's response flags to the status metadata
 * (`x-weft-response-flags`, as HTTP responses carry them).
 */
function metadataValue(metadata: Metadata, name: string): string | undefined {
  const values = metadata.get(name)
  return values.length ? values.map(String).join(',') : undefined
}

export function meshCallInterceptor(
  calls: GrpcCalls,
  onRequestEnd: OutboundRequestHook | undefined,
  now: () => number,
  telemetry?: OutboundTelemetry,
): Interceptor {
  return function weftGrpc(options, nextCall): InterceptingCall {
    const call = nextCall(options)
    return new InterceptingCall(call, {
      start(metadata, _listener, next) {
        const observer =
          telemetry &&
          observe(() =>
            telemetry.start({
              protocol: 'grpc',
              method: 'POST',
              scheme: 'http',
              authority: options.host ?? '',
              path: options.method_definition.path,
              header: (name) => metadataValue(metadata, name),
              requestBytes: 0,
            }),
          )
        if (observer) {
          const carrier: Record<string, string> = {}
          observe(() => observer.propagate(carrier))
          for (const name in carrier) metadata.set(name, carrier[name] as string)
        }
        const record: GrpcCallRecord = {
          startedAtMs: now(),
          host: undefined,
          rule: undefined,
          target: undefined,
          flags: [],
        }
        const id = calls.open(metadata, record)
        next(metadata, {
          onReceiveStatus(status: StatusObject, nextStatus) {
            calls.close(id)
            if (record.flags.length) status.metadata.set(RESPONSE_FLAGS_HEADER, record.flags.join(','))
            // The peer is the endpoint the last attempt went to, or the target when none was reached.
            const peer = call.getPeer()
            if (onRequestEnd || observer) {
              const event: OutboundRequestEvent = {
                host: record.host ?? '',
                rule: record.rule,
                target: record.target,
                endpoint: record.target && !peer.startsWith('weft:') ? peer : undefined,
                status: undefined,
                grpcStatus: status.code,
                flags: record.flags,
                attempts: 1,
                durationMs: now() - record.startedAtMs,
                error: undefined,
              }
              report(onRequestEnd, event)
              if (observer) observe(() => observer.end(event))
            }
            nextStatus(status)
          },
        })
      },
    })
  }
}
