// details (Fastify): the book's bibliographic details, as Bookinfo's details-v1 answers them.
import { createMesh } from '@weft/mesh'
import Fastify from 'fastify'
import { serve } from './serve.mjs'

const mesh = await createMesh({ service: 'details', labels: { version: 'v1' } })
const app = Fastify()
await app.register(mesh.fastify())

app.get('/health', async () => ({ status: 'Details is healthy' }))
app.get('/details/:id', async (req, reply) => {
  const id = Number(req.params.id)
  if (!Number.isInteger(id)) return reply.code(400).send({ error: 'please provide numeric product id' })
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  }
})

await app.ready()
await serve(mesh, { routing: app.routing }, { onClose: () => app.close() })
