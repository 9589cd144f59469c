// A bounded load generator in its own process: GETs one URL from several connections for a fixed
// time, then reports how many of each status it got and how many 429s lacked Retry-After.
import { Pool } from 'undici'

const [origin, path, durationArg, connectionsArg] = process.argv.slice(2)
const durationMs = Number(durationArg)
const connections = Number(connectionsArg)
const pool = new Pool(origin, { connections })
const counts = {}
let missingRetryAfter = 0
let errors = 0
const started = performance.now()
const end = started + durationMs

async function worker() {
  while (performance.now() < end) {
    try {
      const res = await pool.request({ method: 'GET', path })
      await res.body.dump()
      counts[res.statusCode] = (counts[res.statusCode] ?? 0) + 1
      if (res.statusCode === 429 && !res.headers['retry-after']) missingRetryAfter++
    } catch {
      errors++
    }
  }
}

await Promise.all(Array.from({ length: connections }, worker))
const elapsedMs = performance.now() - started
await pool.close()
process.send({ counts, missingRetryAfter, errors, elapsedMs }, () => process.exit(0))
