// A real Prometheus (Debian's package) on loopback, scraping the targets a test names, queried
// through its HTTP API as Grafana queries it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './etcd-cluster.js'

const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 5_000

/** The `prometheus` binary on PATH, or undefined when none is installed. */
export function findPrometheus(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

export interface ScrapeTarget {
  /** `host:port` serving `/metrics`. */
  readonly address: string
}

/** One series of an instant query: its labels and value. */
export interface InstantSample {
  readonly metric: Record<string, string>
  readonly value: number
}

/** One series of a range query: its labels and `[unix seconds, value]` points. */
export interface RangeSeries {
  readonly metric: Record<string, string>
  readonly values: ReadonlyArray<readonly [number, number]>
}

export interface PrometheusServer {
  readonly url: string
  /** The prometheus.yml it was started with. */
  readonly config: string
  query(expr: string, timeS?: number): Promise<InstantSample[]>
  queryRange(expr: string, startS: number, endS: number, stepS: number): Promise<RangeSeries[]>
  /** Resolves once every target has been scraped successfully. */
  targetsUp(timeoutMs?: number): Promise<void>
  /** Resolves once every target has been scraped successfully by a scrape that began after `timeMs`. */
  scrapedAfter(timeMs: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

/** The scrape config: one job, every target on one static list, scraped every `scrapeIntervalS`. */
export function scrapeConfig(targets: readonly ScrapeTarget[], scrapeIntervalS: number): string {
  return [
    'global:',
    `  scrape_interval: ${scrapeIntervalS}s`,
    `  scrape_timeout: ${scrapeIntervalS}s`,
    'scrape_configs:',
    '  - job_name: bookinfo',
    '    static_configs:',
    '      - targets:',
    ...targets.map((t) => `          - ${t.address}`),
    '',
  ].join('\n')
}

interface ApiAnswer<T> {
  status: 'success' | 'error'
  data: T
  error?: string
}

interface ActiveTarget {
  scrapeUrl: string
  health: 'up' | 'down' | 'unknown'
  lastScrape: string
  lastError: string
}

/** Starts Prometheus on a free loopback port with its own temporary storage. */
export async function startPrometheus(options: {
  readonly binary: string
  readonly targets: readonly ScrapeTarget[]
  readonly scrapeIntervalS: number
}): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-prometheus-'))
  const config = scrapeConfig(options.targets, options.scrapeIntervalS)
  const configFile = join(dir, 'prometheus.yml')
  await writeFile(configFile, config)
  const logFile = join(dir, 'prometheus.log')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const log = createWriteStream(logFile)
  const child: ChildProcess = spawn(
    options.binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  child.stdout?.pipe(log)
  child.stderr?.pipe(log)
  const logTail = () => readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-10).join('\n    ')
  const exited = new Promise<void>((done) => child.once('exit', () => done()))

  async function api<T>(path: string): Promise<T> {
    if (child.exitCode !== null)
      throw new Error(`prometheus exited with ${child.exitCode}:\n    ${logTail()}`)
    const res = await fetch(`${url}${path}`)
    const answer = (await res.json()) as ApiAnswer<T>
    if (answer.status !== 'success') throw new Error(`prometheus ${path}: ${answer.error}`)
    return answer.data
  }

  async function until(what: string, done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let last: unknown
    while (Date.now() < deadline) {
      try {
        if (await done()) return
      } catch (error) {
        last = error
        if (child.exitCode !== null) throw error
      }
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`prometheus: ${what} within ${timeoutMs} ms${last ? ` (last: ${String(last)})` : ''}`)
  }

  const targets = async () =>
    (await api<{ activeTargets: ActiveTarget[] }>('/api/v1/targets?state=active')).activeTargets
  const allScrapedSince = async (sinceMs: number) => {
    const active = await targets()
    return (
      active.length === options.targets.length &&
      active.every((t) => t.health === 'up' && Date.parse(t.lastScrape) > sinceMs)
    )
  }

  return {
    url,
    config,
    async query(expr, timeS) {
      const time = timeS === undefined ? '' : `&time=${timeS}`
      const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}${time}`,
      )
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
    },
    async queryRange(expr, startS, endS, stepS) {
      const data = await api<{
        result: Array<{ metric: Record<string, string>; values: [number, string][] }>
      }>(`/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${startS}&end=${endS}&step=${stepS}`)
      return data.result.map((r) => ({
        metric: r.metric,
        values: r.values.map(([t, v]) => [t, Number(v)] as const),
      }))
    },
    targetsUp: (timeoutMs = START_TIMEOUT_MS) =>
      until(`every target up (see ${logFile})`, () => allScrapedSince(0), timeoutMs),
    scrapedAfter: (timeMs, timeoutMs = START_TIMEOUT_MS) =>
      until(
        `a scrape of every target after ${new Date(timeMs).toISOString()}`,
        () => allScrapedSince(timeMs),
        timeoutMs,
      ),
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
        await exited
        clearTimeout(timer)
      }
      await new Promise((closed) => log.end(closed))
      await rm(dir, { recursive: true, force: true })
    },
  }
}
