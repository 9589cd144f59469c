import { startBookinfo } from '@weft/example-bookinfo/bookinfo'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findChromium } from './support/chromium.js'

const executablePath = findChromium()
if (!executablePath) {
  console.warn(
    'bookinfo-browser: skipped, no Chromium installed (apt-get install -y chromium; .ci/run installs it)',
  )
}

let bookinfo: Awaited<ReturnType<typeof startBookinfo>>
let browser: Browser

describe.skipIf(!executablePath)('Bookinfo’s product page in Chromium', () => {
  beforeAll(async () => {
    bookinfo = await startBookinfo()
    await bookinfo.apply(
      'bookinfo/virtual-service-all-v1.yaml',
      'bookinfo/virtual-service-reviews-jason-v2-v3.yaml',
    )
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] })
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await bookinfo?.close()
  }, 60_000)

  it('jason signs in and sees v2’s black stars; signed out, the page shows v3’s red stars', async () => {
    const page = await browser.newPage()
    const starColors = () =>
      page.locator('.stars').evaluateAll((stars) => stars.map((s) => getComputedStyle(s).color))

    await page.goto(`http://127.0.0.1:${bookinfo.gateway.port}/productpage`)
    await expect.poll(() => page.locator('#reviews-version').textContent()).toBe('reviews-v3')
    expect(await starColors()).toEqual(['rgb(255, 0, 0)', 'rgb(255, 0, 0)'])

    await page.fill('#username', 'jason')
    await page.fill('#password', 'any')
    await page.click('#sign-in')
    await page.waitForSelector('#signed-in-user')
    expect(await page.locator('#signed-in-user').textContent()).toBe('jason')
    expect(await page.locator('#reviews-version').textContent()).toBe('reviews-v2')
    expect(await starColors()).toEqual(['rgb(0, 0, 0)', 'rgb(0, 0, 0)'])

    await page.click('#sign-out')
    await page.waitForSelector('#sign-in')
    expect(await page.locator('#reviews-version').textContent()).toBe('reviews-v3')
    expect(await starColors()).toEqual(['rgb(255, 0, 0)', 'rgb(255, 0, 0)'])
  })
})
