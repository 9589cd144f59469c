// Traffic through the ingress, as a reader's browser sends it, and what the answers say.
import { Agent, request } from 'undici'

const REQUEST_TIMEOUT_MS = 20_000

/** What a productpage answer shows: which reviews version served it, its stars, its errors. */
export function readPage(status, body) {
  return {
    status,
    reviews: /Reviews served by: <b[^>]*>reviews-(v\d)</.exec(body)?.[1],
    stars: /class="stars stars-(\w+)"/.exec(body)?.[1],
    detailsError: body.includes('Sorry, product details are currently unavailable for this book.'),
    reviewsError: body.includes('Sorry, product reviews are currently unavailable for this book.'),
    ratingsError: body.includes('Ratings service is currently unavailable'),
    body,
  }
}

/**
 * Sends `count` GETs of `path` through the ingress, `concurrency` at a time, and stops starting
 * new ones after `budgetMs`. `user` signs the requests in (Bookinfo's `user` cookie).
 */
export async function drive(
  bookinfo,
  { path = '/productpage', count, concurrency = 4, user, headers = {}, budgetMs = 60_000 },
) {
  const base = `http://127.0.0.1:${bookinfo.gateway.port}`
  const dispatcher = new Agent({ connections: concurrency })
  const deadline = Date.now() + budgetMs
  const results = []
  let next = 0
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      next++
      const started = performance.now()
      try {
        const res = await request(`${base}${path}`, {
          dispatcher,
          headers: { ...headers, ...(user ? { cookie: `user=${encodeURIComponent(user)}` } : {}) },
          headersTimeout: REQUEST_TIMEOUT_MS,
          bodyTimeout: REQUEST_TIMEOUT_MS,
        })
        const body = await res.body.text()
        results.push({
          ...readPage(res.statusCode, body),
          flags: res.headers['x-weft-response-flags'],
          ms: performance.now() - started,
        })
      } catch (error) {
        results.push({ status: 0, error: error.code ?? error.message, ms: performance.now() - started })
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
  } finally {
    await dispatcher.close()
  }
  return summarize(results)
}

export function summarize(results) {
  const count = (key) => {
    const seen = {}
    for (const r of results) {
      const value = r[key] ?? 'none'
      seen[value] = (seen[value] ?? 0) + 1
    }
    return seen
  }
  const sorted = results.map((r) => r.ms).sort((a, b) => a - b)
  const at = (q) =>
    sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]
  return {
    n: results.length,
    versions: count('reviews'),
    stars: count('stars'),
    statuses: count('status'),
    flags: count('flags'),
    detailsErrors: results.filter((r) => r.detailsError).length,
    reviewsErrors: results.filter((r) => r.reviewsError).length,
    ratingsErrors: results.filter((r) => r.ratingsError).length,
    p50: at(0.5),
    p99: at(0.99),
    first: results[0],
  }
}

/** The share of `n` in percent, to one decimal. */
export const share = (part, n) => (n === 0 ? 0 : Math.round((1000 * (part ?? 0)) / n) / 10)

/** Sums a counter's series whose labels contain every `label="value"` given, from a /metrics scrape. */
export async function scrapeCounter(metricsPort, metric, labels) {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue
    total += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return total
}

/** Sends one plaintext request straight to a port, as a client outside the mesh would. */
export async function plaintext(port, path) {
  try {
    const res = await request(`http://127.0.0.1:${port}${path}`, { headersTimeout: 5000, bodyTimeout: 5000 })
    await res.body.dump()
    return `HTTP ${res.statusCode}`
  } catch (error) {
    return `refused (${error.code ?? error.message})`
  }
}
