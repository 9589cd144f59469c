// reviews (Express), in three versions as Bookinfo ships them: v1 shows no stars, v2 asks ratings
// and shows black stars, v3 asks ratings and shows red ones. VERSION picks which.
import { createMesh } from '@weft/mesh'
import express from 'express'
import { serve } from './serve.mjs'

const version = process.env.VERSION ?? 'v1'
const color = { v2: 'black', v3: 'red' }[version]
// Bookinfo's reviews give ratings 10 s in v2 and 2.5 s in v3; the fault-injection task's outcome
// for jason (routed to v2) depends on v2 waiting longer than productpage does.
const ratingsTimeoutMs = version === 'v2' ? 10_000 : 2_500

const mesh = await createMesh({ service: 'reviews', labels: { version } })
const app = express()
app.use(mesh.express())

const reviews = [
  {
    reviewer: 'Reviewer1',
    text: 'A farce that never lets up: two pairs of twins, one town, and a day of mistaken identities.',
  },
  { reviewer: 'Reviewer2', text: 'Short and quick; the confusion is the point, and the ending pays for it.' },
]

app.get('/health', (_req, res) => {
  res.json({ status: 'Reviews is healthy' })
})
app.get('/reviews/:id', async (req, res) => {
  const id = Number(req.params.id)
  const ratings = color ? await fetchRatings(id, req) : undefined
  res.json({
    id,
    podname: `reviews-${version}`,
    reviews: reviews.map((r) => ({
      ...r,
      ...(ratings === undefined
        ? {}
        : { rating: ratings.error ? ratings : { stars: ratings[r.reviewer], color } }),
    })),
  })
})

async function fetchRatings(id, req) {
  // The ratings fault rules match on end-user, so the caller's user travels on.
  const headers = pick(req.headers, ['end-user', 'x-request-id', 'user-agent'])
  try {
    const res = await mesh.fetch(`http://ratings:9080/ratings/${id}`, {
      headers,
      signal: AbortSignal.timeout(ratingsTimeoutMs),
    })
    if (res.status !== 200) {
      await res.body?.cancel()
      return { error: 'Ratings service is currently unavailable' }
    }
    return (await res.json()).ratings
  } catch {
    return { error: 'Ratings service is currently unavailable' }
  }
}

function pick(headers, names) {
  return Object.fromEntries(names.filter((n) => typeof headers[n] === 'string').map((n) => [n, headers[n]]))
}

await serve(mesh, app)
