import type { Context, TextMapGetter, TextMapSetter } from '@opentelemetry/api'
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core'
import { B3InjectEncoding, B3Propagator } from '@opentelemetry/propagator-b3'

/**
 * Weft's own propagators, never the global one the application may have set: Envoy's formats,
 * so that Weft services and Istio sidecars join one trace. Extraction reads B3 (single `b3` or
 * multi `x-b3-*`) and W3C `traceparent`/`tracestate`, W3C winning when both are present;
 * injection writes all three.
 */
const extractor = new CompositePropagator({
  propagators: [new B3Propagator(), new W3CTraceContextPropagator()],
})
const injector = new CompositePropagator({
  propagators: [
    new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER }),
    new B3Propagator({ injectEncoding: B3InjectEncoding.SINGLE_HEADER }),
    new W3CTraceContextPropagator(),
  ],
})

/** A request's headers as a lookup by lower-case name. */
export type HeaderLookup = (name: string) => string | undefined

const getter: TextMapGetter<HeaderLookup> = {
  keys: () => [],
  get: (header, key) => header(key.toLowerCase()),
}

const setter: TextMapSetter<Record<string, string | string[]>> = {
  set: (headers, key, value) => {
    headers[key] = value
  },
}

export function extractContext(parent: Context, header: HeaderLookup): Context {
  return extractor.extract(parent, header, getter)
}

export function injectContext(ctx: Context, headers: Record<string, string | string[]>): void {
  injector.inject(ctx, headers, setter)
}
