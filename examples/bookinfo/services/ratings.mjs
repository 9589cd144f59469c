// ratings (Express): each reviewer's stars for a product, on Bookinfo's HTTP API.
import { createMesh } from '@weft/mesh'
import express from 'express'
import { serve } from './serve.mjs'

const mesh = await createMesh({ service: 'ratings', labels: { version: 'v1' } })
const app = express()
app.use(mesh.express())

app.get('/health', (_req, res) => {
  res.json({ status: 'Ratings is healthy' })
})
app.get('/ratings/:id', (req, res) => {
  const id = Number(req.params.id)
  if (!Number.isInteger(id)) return res.status(400).json({ error: 'please provide numeric product ID' })
  res.json({ id, ratings: { Reviewer1: 5, Reviewer2: 4 } })
})

await serve(mesh, app)
