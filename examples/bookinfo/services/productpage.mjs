// productpage (Express): the page a reader sees. It asks details and reviews through the mesh,
// signs a user in with a cookie and passes the user on as `end-user`, which the routing and fault
// rules of Istio's tasks match on. When a call fails it says so on the page, as Bookinfo does.
import { createMesh } from '@weft/mesh'
import express from 'express'
import { serve } from './serve.mjs'

const mesh = await createMesh({ service: 'productpage', labels: { version: 'v1' } })
const app = express()
app.use(mesh.express())
app.use(express.urlencoded({ extended: false }))

const product = {
  id: 0,
  title: 'The Comedy of Errors',
  description:
    'Shakespeare’s shortest comedy: two sets of identical twins, separated at birth, land in the same town on the same day.',
}

// Bookinfo's productpage gives each call 3 s, and tries reviews twice: the fault-injection and
// request-timeout tasks are written around these numbers.
const CALL_TIMEOUT_MS = 3000

async function call(url, headers) {
  try {
    const res = await mesh.fetch(url, { headers, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) })
    if (res.status === 200) return { status: 200, body: await res.json() }
    await res.body?.cancel()
    return { status: res.status }
  } catch {
    return { status: 0 }
  }
}

const getDetails = (id, headers) => call(`http://details:9080/details/${id}`, headers)
const getRatings = (id, headers) => call(`http://ratings:9080/ratings/${id}`, headers)
async function getReviews(id, headers) {
  let last
  for (let attempt = 0; attempt < 2; attempt++) {
    last = await call(`http://reviews:9080/reviews/${id}`, headers)
    if (last.status === 200) break
  }
  return last
}

function userOf(req) {
  const cookie = (req.headers.cookie ?? '').split(';').find((c) => c.trim().startsWith('user='))
  return cookie ? decodeURIComponent(cookie.trim().slice(5)) : ''
}

function forwarded(req) {
  const headers = {}
  const user = userOf(req)
  if (user) headers['end-user'] = user
  for (const name of ['x-request-id', 'user-agent']) {
    if (typeof req.headers[name] === 'string') headers[name] = req.headers[name]
  }
  return headers
}

app.get('/health', (_req, res) => {
  res.json({ status: 'Product page is healthy' })
})
app.get('/', (_req, res) => {
  res
    .type('html')
    .send(layout('Bookinfo', '<p><a href="/productpage?u=normal">Open the product page</a></p>'))
})
app.post('/login', (req, res) => {
  const user = String(req.body?.username ?? '').trim()
  if (user) res.cookie('user', user, { httpOnly: true, sameSite: 'lax' })
  res.redirect(303, '/productpage')
})
app.get('/logout', (_req, res) => {
  res.clearCookie('user')
  res.redirect(303, '/productpage')
})

app.get('/productpage', async (req, res) => {
  const headers = forwarded(req)
  const [details, reviews] = await Promise.all([
    getDetails(product.id, headers),
    getReviews(product.id, headers),
  ])
  res.type('html').send(layout(product.title, page(userOf(req), details, reviews)))
})

app.get('/api/v1/products', (_req, res) => {
  res.json([{ id: product.id, title: product.title, descriptionHtml: product.description }])
})
app.get('/api/v1/products/:id', async (req, res) =>
  sendCall(res, await getDetails(req.params.id, forwarded(req))),
)
app.get('/api/v1/products/:id/reviews', async (req, res) =>
  sendCall(res, await getReviews(req.params.id, forwarded(req))),
)
app.get('/api/v1/products/:id/ratings', async (req, res) =>
  sendCall(res, await getRatings(req.params.id, forwarded(req))),
)

function sendCall(res, result) {
  if (result.status === 200) res.json(result.body)
  else res.status(result.status || 503).json({ error: 'upstream unavailable' })
}

const html = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  )

function page(user, details, reviews) {
  return `
<header>
  <h1>Bookinfo</h1>
  ${
    user
      ? `<p class="user">Signed in as <b id="signed-in-user">${html(user)}</b> · <a id="sign-out" href="/logout">Sign out</a></p>`
      : `<form class="user" method="post" action="/login">
    <label>User <input name="username" id="username" autocomplete="username"></label>
    <label>Password <input name="passwd" id="password" type="password" autocomplete="current-password"></label>
    <button id="sign-in" type="submit">Sign in</button>
  </form>`
  }
</header>
<main>
  <section class="summary">
    <h2>${html(product.title)}</h2>
    <p>${html(product.description)}</p>
  </section>
  <section class="details" id="details">
    <h3>Book details</h3>
    ${details.status === 200 ? detailsList(details.body) : `<p class="error">Error fetching product details!</p><p class="error">Sorry, product details are currently unavailable for this book.</p>`}
  </section>
  <section class="reviews" id="reviews">
    <h3>Book reviews</h3>
    ${reviews.status === 200 ? reviewsList(reviews.body) : `<p class="error">Error fetching product reviews!</p><p class="error">Sorry, product reviews are currently unavailable for this book.</p>`}
  </section>
</main>`
}

function detailsList(d) {
  const rows = [
    ['Type', d.type],
    ['Pages', d.pages],
    ['Publisher', d.publisher],
    ['Language', d.language],
    ['ISBN-10', d['ISBN-10']],
    ['ISBN-13', d['ISBN-13']],
  ]
  return `<p>By ${html(d.author)}, ${html(d.year)}</p><dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${html(v)}</dd>`).join('')}</dl>`
}

function reviewsList(body) {
  const items = body.reviews.map((r) => {
    const rating = r.rating
    const stars = !rating
      ? ''
      : rating.error
        ? `<p class="error ratings-error">${html(rating.error)}</p>`
        : `<p class="stars stars-${html(rating.color)}" style="color:${html(rating.color)}" title="${rating.stars} of 5">${'★'.repeat(rating.stars)}${'☆'.repeat(5 - rating.stars)}</p>`
    return `<blockquote><p>${html(r.text)}</p><footer>${html(r.reviewer)}</footer>${stars}</blockquote>`
  })
  return `${items.join('')}<p class="served-by">Reviews served by: <b id="reviews-version">${html(body.podname)}</b></p>`
}

function layout(title, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 1rem auto; padding: 0 1rem; }
  header { display: flex; justify-content: space-between; align-items: center; border-bottom: 1px solid #ccc; }
  .error { color: #a00; }
  .stars { font-size: 1.4rem; margin: 0.2rem 0; }
  blockquote { border-left: 3px solid #ddd; margin: 1rem 0; padding-left: 1rem; }
  dt { font-weight: bold; float: left; width: 7rem; } dd { margin-left: 7rem; }
</style></head>
<body>${body}</body></html>`
}

await serve(mesh, app)
