import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'

/**
 * A `/metrics` handler for `http.createServer` and Express (`app.get('/metrics', handler)`):
 * the registry in Prometheus' text format. It serves whatever path it is mounted on.
 */
export function createMetricsHandler(
  registry: Registry,
): (req: IncomingMessage, res: ServerResponse) => void {
  return function weftMetrics(_req, res) {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(text)
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(`metrics collection failed: ${(error as Error).message}`)
      },
    )
  }
}

/** What the Fastify plugin needs of a Fastify instance: described here so Fastify stays the application's dependency. */
export interface FastifyRoutes {
  get(
    path: string,
    handler: (request: unknown, reply: { type(contentType: string): unknown }) => Promise<string>,
  ): unknown
}

/** A Fastify plugin serving the registry at `path` (default `/metrics`): `fastify.register(plugin)`. */
export function createFastifyMetrics(
  registry: Registry,
  path = '/metrics',
): (instance: FastifyRoutes) => Promise<void> {
  return async function weftMetrics(instance) {
    instance.get(path, async (_request, reply) => {
      reply.type(registry.contentType)
      return registry.metrics()
    })
  }
}
