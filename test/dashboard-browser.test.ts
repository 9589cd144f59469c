import { mkdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '@weft/cli'
import { startBookinfo } from '@weft/example-bookinfo/bookinfo'
import { drive } from '@weft/example-bookinfo/traffic'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findChromium } from './support/chromium.js'

const here = dirname(fileURLToPath(import.meta.url))
const SCREENSHOT = resolve(here, '../docs/images/dashboard.png')
// Reports every second (the default is 5 s) so that the graph catches up with the traffic quickly.
const REPORT_INTERVAL_MS = 1000
// Enough requests that a weighted random pick lands within ±5 points of 80/20 (σ ≈ 1.6 points).
const REQUESTS = 600

const executablePath = findChromium()
if (!executablePath) {
  console.warn(
    'dashboard-browser: skipped, no Chromium installed (apt-get install -y chromium; .ci/run installs it)',
  )
}

interface GraphNode {
  id: string
  kind: 'service' | 'workload'
  service?: string
  workload?: string
  parent?: string
  health: string
}
interface GraphEdge {
  id: string
  source: string
  target: string
  requests: number
  share: number
  mtls: boolean
  protocol: string
}
interface Graph {
  generatedAt: number
  nodes: GraphNode[]
  edges: GraphEdge[]
}

/** What the page exposes for tests: the model behind the canvas (`window.weftDashboard`). */
interface Dashboard {
  sameDocument?: boolean
  weftDashboard: {
    graph(): Graph
    positions(): Record<string, { x: number; y: number }>
    layouts(): number
    box(id: string): { x1: number; y1: number; x2: number; y2: number }
    timing(): { domContentLoadedMs: number; loadToGraphMs: number }
  }
}

const graphOf = (page: Page) => page.evaluate(() => (window as unknown as Dashboard).weftDashboard.graph())
const edge = (g: Graph, from: string, to: string) =>
  g.edges.find((e) => e.source === `wl:default/${from}` && e.target === `wl:default/${to}`)

async function dashboardUrl(server: string, admin: string): Promise<string> {
  let out = ''
  const code = await run(['dashboard', '--server', server, '--token', admin, '-o', 'json'], {
    out: (t) => {
      out += t
    },
    err: () => {},
    readStdin: async () => '',
  })
  expect(code).toBe(0)
  return (JSON.parse(out) as { url: string }).url
}

let bookinfo: Awaited<ReturnType<typeof startBookinfo>>
let browser: Browser

describe.skipIf(!executablePath)('the dashboard in Chromium, during Bookinfo', () => {
  beforeAll(async () => {
    bookinfo = await startBookinfo({ env: { WEFT_REPORT_INTERVAL_MS: String(REPORT_INTERVAL_MS) } })
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await bookinfo?.close()
  }, 60_000)

  it('draws Bookinfo live, shows the 80/20 split on the reviews edges, and opens reviews’ rules and endpoints', async () => {
    const admin = (await readFile(join(bookinfo.workDir, 'control-plane', 'admin-token'), 'utf8')).trim()
    const url = await dashboardUrl(bookinfo.controlPlaneUrl, admin)
    const page = await browser.newPage({ viewport: { width: 1360, height: 760 } })
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))

    await page.goto(url)
    // The token left the address bar for the tab's storage.
    expect(page.url()).toBe(`${bookinfo.controlPlaneUrl}/dashboard/`)
    await page.waitForFunction(() => (window as unknown as Dashboard).weftDashboard?.graph().nodes.length > 0)
    const timing = await page.evaluate(() => (window as unknown as Dashboard).weftDashboard.timing())
    console.log(
      `dashboard: DOMContentLoaded at ${Math.round(timing.domContentLoadedMs)} ms, graph drawn ${Math.round(timing.loadToGraphMs)} ms later (information, not asserted)`,
    )

    // Before any traffic: every service and workload is there, idle, with no edge yet.
    const idle = await graphOf(page)
    const services = ['details', 'istio-ingressgateway', 'productpage', 'ratings', 'reviews']
    expect(
      idle.nodes
        .filter((n) => n.kind === 'service')
        .map((n) => n.service)
        .sort(),
    ).toEqual(services)
    expect(
      idle.nodes
        .filter((n) => n.kind === 'workload')
        .map((n) => n.workload)
        .sort(),
    ).toEqual([
      'details-v1',
      'istio-ingressgateway-v1',
      'productpage-v1',
      'ratings-v1',
      'reviews-v1',
      'reviews-v2',
      'reviews-v3',
    ])
    expect(idle.edges).toEqual([])
    await page.evaluate(() => {
      ;(window as unknown as Dashboard).sameDocument = true
    })

    await bookinfo.apply('bookinfo/virtual-service-reviews-80-20.yaml')
    const sent = await drive(bookinfo, { count: REQUESTS, concurrency: 4 })
    expect(sent.statuses).toEqual({ 200: REQUESTS })

    // The stream brings the traffic in without a reload, once every instance has reported it:
    // each edge's figures come from its destination's own report, and each instance reports on
    // its own clock, so the edges fill in one after another.
    await expect
      .poll(
        async () => {
          const g = await graphOf(page)
          return [
            (edge(g, 'productpage-v1', 'reviews-v1')?.requests ?? 0) +
              (edge(g, 'productpage-v1', 'reviews-v2')?.requests ?? 0),
            edge(g, 'productpage-v1', 'details-v1')?.requests ?? 0,
            edge(g, 'istio-ingressgateway-v1', 'productpage-v1')?.requests ?? 0,
            (edge(g, 'reviews-v2', 'ratings-v1')?.requests ?? 0) > 0,
          ]
        },
        { timeout: 20_000, interval: 250 },
      )
      .toEqual([REQUESTS, REQUESTS, REQUESTS, true])
    expect(await page.evaluate(() => (window as unknown as Dashboard).sameDocument)).toBe(true)

    const g = await graphOf(page)
    for (const [from, to] of [
      ['istio-ingressgateway-v1', 'productpage-v1'],
      ['productpage-v1', 'details-v1'],
      ['productpage-v1', 'reviews-v1'],
      ['productpage-v1', 'reviews-v2'],
      ['reviews-v2', 'ratings-v1'],
    ] as const) {
      const e = edge(g, from, to)
      expect(e, `${from} → ${to}`).toBeDefined()
      expect(e?.protocol).toBe('http')
    }
    expect(edge(g, 'productpage-v1', 'reviews-v3')).toBeUndefined()
    expect(edge(g, 'productpage-v1', 'details-v1')?.requests).toBe(REQUESTS)

    const v1 = edge(g, 'productpage-v1', 'reviews-v1') as GraphEdge
    const v2 = edge(g, 'productpage-v1', 'reviews-v2') as GraphEdge
    console.log(
      `dashboard: reviews v1 ${(v1.share * 100).toFixed(1)} %, v2 ${(v2.share * 100).toFixed(1)} % of ${REQUESTS} (pages named v1 ${sent.versions.v1}, v2 ${sent.versions.v2})`,
    )
    expect(v1.share * 100).toBeGreaterThanOrEqual(75)
    expect(v1.share * 100).toBeLessThanOrEqual(85)
    expect(v2.share * 100).toBeGreaterThanOrEqual(15)
    expect(v2.share * 100).toBeLessThanOrEqual(25)
    expect(v1.requests).toBe(sent.versions.v1)
    expect(v2.requests).toBe(sent.versions.v2)

    // The Edges tab shows the same figures as text.
    await page.click('#tab-edges')
    const shareCell = page.locator(`#edges-table tr[data-edge-id="${v1.id}"] td[data-col="share"]`)
    expect(Number(await shareCell.getAttribute('data-value'))).toBeCloseTo(v1.share, 6)
    await page.click('#tab-graph')

    // Updates leave the drawing where it is: no node moves between two stream messages.
    const before = await page.evaluate(() => (window as unknown as Dashboard).weftDashboard.positions())
    const layouts = await page.evaluate(() => (window as unknown as Dashboard).weftDashboard.layouts())
    await page.waitForFunction(
      (at) => (window as unknown as Dashboard).weftDashboard.graph().generatedAt > at,
      (await graphOf(page)).generatedAt,
      { timeout: 10_000 },
    )
    expect(await page.evaluate(() => (window as unknown as Dashboard).weftDashboard.positions())).toEqual(
      before,
    )
    expect(await page.evaluate(() => (window as unknown as Dashboard).weftDashboard.layouts())).toBe(layouts)

    // Click the reviews box (its left padding, beside its workloads) on the canvas.
    const box = await page.evaluate(() =>
      (window as unknown as Dashboard).weftDashboard.box('svc:default/reviews'),
    )
    await page.mouse.click(box.x1 + 3, (box.y1 + box.y2) / 2)
    await page.waitForSelector('#detail-routes [data-rule-index="0"]')
    expect(await page.locator('#detail-title').textContent()).toBe('reviews.default')
    const rule = page.locator(
      '#detail-routes [data-virtual-service="VirtualService/default/reviews"] [data-rule-index="0"]',
    )
    expect(await rule.locator('tr[data-destination="v1"]').getAttribute('data-weight')).toBe('80')
    expect(await rule.locator('tr[data-destination="v2"]').getAttribute('data-weight')).toBe('20')
    const observed = Number(
      await rule.locator('tr[data-destination="v1"]').getAttribute('data-observed-share'),
    )
    expect(observed * 100).toBeGreaterThanOrEqual(75)
    expect(observed * 100).toBeLessThanOrEqual(85)
    const reviews = bookinfo.services.filter((s: { service: string }) => s.service === 'reviews')
    for (const r of reviews as { version: string; port: number }[]) {
      const endpoint = page.locator(
        `#detail-subsets [data-subset="${r.version}"] tr[data-endpoint="127.0.0.1:${r.port}"]`,
      )
      expect(await endpoint.count(), `reviews ${r.version} endpoint`).toBe(1)
    }
    expect(await page.locator('#detail-workloads tr[data-state="ACK"]').count()).toBe(3)

    mkdirSync(dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT })
    expect(problems).toEqual([])
  }, 180_000)

  it('without a token, or with one the control plane refuses, says how to get one', async () => {
    const page = await browser.newPage()
    await page.goto(`${bookinfo.controlPlaneUrl}/dashboard/`)
    await page.waitForSelector('#no-token:not([hidden])')
    expect(await page.locator('#no-token').textContent()).toContain('weft dashboard')
    expect(await page.locator('#app').isHidden()).toBe(true)
    await page.close()

    const forged = await browser.newPage()
    await forged.goto(`${bookinfo.controlPlaneUrl}/dashboard/#token=weft1.e30.forged`)
    await forged.waitForSelector('#token-problem:not([hidden])')
    expect(await forged.locator('#token-problem').textContent()).toMatch(/refused the token/)
    expect(forged.url()).toBe(`${bookinfo.controlPlaneUrl}/dashboard/`)
    await forged.close()
  })
})
