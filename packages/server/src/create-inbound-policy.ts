import type { IncomingMessage } from 'node:http'
import type { Snapshot } from '@weft/config'
import { type PathNormalization, pathNormalizationOptions } from '@weft/core'
import type { JwksFetch, JwtAuthenticatorOptions } from '@weft/identity'
import { Agent, fetch } from 'undici'
import { InvalidInboundOptionError } from './errors.js'
import { type ExpressMiddleware, expressMiddleware } from './express-middleware.js'
import { ExtAuthzClient, type ExtensionProvider } from './ext-authz.js'
import { fastifyPlugin } from './fastify-plugin.js'
import { grpcInterceptor } from './grpc-interceptor.js'
import type { InboundDecisionHook } from './inbound-event.js'
import type { Workload } from './inbound-policy.js'
import type { InboundRequest } from './inbound-request.js'
import type { InboundTelemetryHook } from './inbound-telemetry.js'
import type { InboundVerdict } from './inbound-verdict.js'
import { type InboundLogger, PolicyPipeline } from './policy-pipeline.js'

/** The parts of Istio's MeshConfig the inbound side reads. */
export interface InboundMeshConfig {
  /** CUSTOM authorizers; Weft asks `envoyExtAuthzHttp` providers. */
  readonly extensionProviders?: readonly ExtensionProvider[]
  /** Istio's `pathNormalization`; default `BASE`. */
  readonly pathNormalization?: { readonly normalization?: PathNormalization }
}

export interface InboundPolicyOptions {
  /** The current snapshot; asked on every request, compiled again only when its version changes. */
  readonly snapshot: () => Snapshot
  readonly workload: Workload
  readonly meshConfig?: InboundMeshConfig
  /** JWT tuning: clock skew, JWKS cache age, cooldown and refetch delay, verified-token cache size. */
  readonly jwt?: Omit<JwtAuthenticatorOptions, 'fetch'>
  /** Called once per request with what was decided; what it throws is ignored. */
  readonly onInboundDecision?: InboundDecisionHook
  /** Where internal failures are reported. Default: `console.error`. */
  readonly logger?: InboundLogger
  /** `@weft/telemetry`'s inbound side: each request's metrics, SERVER span and access-log line. */
  readonly telemetry?: InboundTelemetryHook
}

const consoleLogger: InboundLogger = {
  error(message, error) {
    console.error(`weft inbound: ${message}`, error instanceof Error ? `${error.name}: ${error.message}` : '')
  },
}

/**
 * A workload's inbound policy, shared by its adapters: `express()`, `fastify()` and
 * `grpcInterceptor()` all run the same pipeline. Its own HTTP calls (JWKS, external authorizers)
 * go through a private undici Agent, never through a global dispatcher the application set.
 */
export class InboundPolicy {
  readonly pipeline: PolicyPipeline
  readonly #agent: Agent
  readonly #telemetry: InboundTelemetryHook | undefined

  constructor(options: InboundPolicyOptions) {
    if (typeof options.snapshot !== 'function') {
      throw new InvalidInboundOptionError('snapshot', 'a function returning the current Snapshot')
    }
    if (!options.workload || typeof options.workload.namespace !== 'string') {
      throw new InvalidInboundOptionError('workload', '{ namespace, labels }')
    }
    const agent = new Agent()
    this.#agent = agent
    this.#telemetry = options.telemetry
    const providers = new Map<string, ExtAuthzClient>()
    for (const provider of options.meshConfig?.extensionProviders ?? []) {
      if (provider.envoyExtAuthzHttp) {
        providers.set(provider.name, new ExtAuthzClient(provider.name, provider.envoyExtAuthzHttp, agent))
      }
    }
    const jwksFetch: JwksFetch = async (url, init) =>
      (await fetch(url, {
        method: init.method,
        headers: Object.fromEntries(init.headers),
        redirect: init.redirect,
        signal: init.signal,
        dispatcher: agent,
      })) as unknown as Response
    const mode = options.meshConfig?.pathNormalization?.normalization ?? 'DEFAULT'
    this.pipeline = new PolicyPipeline({
      snapshot: options.snapshot,
      workload: { namespace: options.workload.namespace, labels: { ...options.workload.labels } },
      pathNormalization: pathNormalizationOptions(mode),
      jwt: { ...options.jwt, fetch: jwksFetch },
      providers,
      onInboundDecision: options.onInboundDecision,
      logger: options.logger ?? consoleLogger,
      nowMs: () => performance.now(),
    })
  }

  /** Decides on one request, for adapters of other frameworks. Never throws or rejects. */
  evaluate(request: InboundRequest): InboundVerdict | Promise<InboundVerdict> {
    return this.pipeline.evaluate(request)
  }

  /** Express 5 middleware: `app.use(inbound.express())`, before any route. */
  express(): ExpressMiddleware {
    return expressMiddleware(this.pipeline, this.#telemetry)
  }

  /** Fastify 5 plugin: `await app.register(inbound.fastify())`. */
  fastify(): ReturnType<typeof fastifyPlugin> {
    return fastifyPlugin(this.pipeline, this.#telemetry)
  }

  /** @grpc/grpc-js server interceptor: `new Server({ interceptors: [inbound.grpcInterceptor()] })`. */
  grpcInterceptor(): ReturnType<typeof grpcInterceptor> {
    return grpcInterceptor(this.pipeline, this.#telemetry)
  }

  /**
   * For `fastify({ rewriteUrl: inbound.rewriteUrl })`: Fastify then routes on the normalised path,
   * as the application behind Envoy would see it. A target normalisation refuses is left as is
   * (the plugin answers it 400).
   */
  readonly rewriteUrl = (req: IncomingMessage): string => this.pipeline.normalizeTarget(req.url ?? '/')

  /** Closes the connections of the policy's own calls (JWKS, external authorizers). */
  async close(): Promise<void> {
    await this.#agent.close()
  }
}

export function createInboundPolicy(options: InboundPolicyOptions): InboundPolicy {
  return new InboundPolicy(options)
}
