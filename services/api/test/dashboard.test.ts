/**
 * The dashboard in a real headless Chromium (Debian package `chromium`, driven by
 * playwright-core): sample data loads, charts draw, filters change the data and the URL.
 * Writes test-artifacts/dashboard.png; with CONNRCA_UPDATE_SCREENSHOT=1 also docs/dashboard.png.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Browser, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, startHarness, TOKEN } from './harness.js'

// Browser globals used inside page.evaluate callbacks; the repo type-checks without the DOM lib.
interface BrowserCanvas {
  width: number
  height: number
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } }
}
declare const document: {
  body: { dataset: Record<string, string | undefined> }
  querySelector(selector: string): BrowserCanvas | null
}
declare const sessionStorage: { getItem(key: string): string | null }

const CHROMIUM = '/usr/bin/chromium'
const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const present = existsSync(CHROMIUM)

if (!present && process.env.CI === 'true') {
  throw new Error(`dashboard test: ${CHROMIUM} is missing; CI must install the Debian package "chromium"`)
}
if (!present) {
  console.warn(`\n*** dashboard test SKIPPED: ${CHROMIUM} not found (apt-get install chromium) ***\n`)
}

describe.skipIf(!present)('dashboard in headless Chromium', () => {
  let h: Harness
  let browser: Browser
  let page: Page
  const external: string[] = []
  const pageErrors: string[] = []

  beforeAll(async () => {
    h = await startHarness()
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    })
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 })
    // offline: anything not served by the api itself is refused and recorded
    await context.route('**/*', (route) => {
      const u = route.request().url()
      if (u.startsWith(h.url)) return route.continue()
      external.push(u)
      return route.abort()
    })
    page = await context.newPage()
    page.on('pageerror', (e) => pageErrors.push(String(e)))
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text())
    })
  })

  afterAll(async () => {
    await browser?.close()
    await h?.close()
  })

  /** Waits until the load that follows the current one has rendered. */
  async function nextLoad(action: () => Promise<unknown>) {
    const before = await page.evaluate(() => Number(document.body.dataset.loaded ?? 0))
    await action()
    await page.waitForFunction((n) => Number(document.body.dataset.loaded ?? 0) > n, before, { timeout: 15_000 })
  }

  /** Painted (non-transparent) pixels of the chart's canvas. */
  const painted = (selector: string) =>
    page.evaluate((sel) => {
      const c = document.querySelector(sel)
      if (!c) return -1
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
      let n = 0
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++
      return n
    }, selector)

  const kpi = async (id: string) => (await page.locator(`#${id}`).textContent()) ?? ''

  it('loads sample data with the token from the URL, then drops it from the address', async () => {
    await page.goto(`${h.url}/?token=${TOKEN}`)
    await page.waitForFunction(() => document.body.dataset.loaded !== undefined, null, { timeout: 20_000 })
    expect(page.url()).toBe(`${h.url}/`)
    expect(await page.evaluate(() => sessionStorage.getItem('connrca.token'))).toBe(TOKEN)
    const failed = h.data.connectionEvents.filter((e) => e.outcome === 'failed').length
    // the default range (last 24 h, 5 min buckets) starts at the first sample window
    expect(Number((await kpi('k-failures')).replace(/,/g, ''))).toBe(failed)
    expect(await page.locator('#auth').isHidden()).toBe(true)
  })

  it('renders non-empty charts, top lists and the RCA feed', async () => {
    expect(await painted('#chart-failures canvas')).toBeGreaterThan(2_000)
    expect(await painted('#chart-ratio canvas')).toBeGreaterThan(500)
    expect(await page.locator('#legend button').count()).toBe(7)
    const servers = await page.locator('#top-servers li').allTextContents()
    expect(servers.length).toBe(6)
    expect(servers[0]).toContain('orders-prod')
    expect(await page.locator('#top-clients li').count()).toBe(8)
    const feed = page.locator('#feed article')
    expect(await feed.count()).toBeGreaterThan(5)
    const fw = page.locator('#feed article', { hasText: 'Firewall rules block clients on orders-prod' })
    expect(await fw.textContent()).toContain('81.2.69.0/24')
    expect(await fw.locator('ol li').count()).toBeGreaterThan(1)
    // the diagnosis: best hypothesis first with its evidence numbers, then the alternatives
    const hyps = await fw.locator('.diagnosis li').allTextContents()
    expect(hyps.length).toBe(2)
    expect(hyps[0]).toMatch(
      /^Likely: new clients or a moved egress address \(score 0\.95\)addresses \d+ · attempts [\d,]+$/,
    )
    expect(hyps[1]).toBe('Or: a rule that admitted them was removed (score 0.3)')
    // fleet incidents first: the same /24 denied on orders-prod and crm-prod, each incident inside
    const first = page.locator('#feed > *').first()
    expect(await first.getAttribute('data-fleet')).toBe('firewall_deny net:81.2.69.0/24')
    expect(await first.locator('h3').first().textContent()).toMatch(
      /^81\.2\.69\.0\/24 denied by 2 servers since \d\d-\d\d \d\d:\d\d UTC$/,
    )
    expect((await first.locator('article .badge.mono').allTextContents()).sort()).toEqual(['crm-prod', 'orders-prod'])
    expect(await page.locator('#k-pipeline-sub').textContent()).toMatch(/2 dead letters\/24h/)
  })

  it('writes a screenshot artifact', async () => {
    const dir = path.join(REPO, 'test-artifacts')
    mkdirSync(dir, { recursive: true })
    const file = path.join(dir, 'dashboard.png')
    await page.mouse.move(0, 0)
    await page.screenshot({ path: file, fullPage: true })
    expect(existsSync(file)).toBe(true)
    if (process.env.CONNRCA_UPDATE_SCREENSHOT === '1') {
      mkdirSync(path.join(REPO, 'docs'), { recursive: true })
      copyFileSync(file, path.join(REPO, 'docs', 'dashboard.png'))
    }
  })

  it('filters by server: data, legend and URL change', async () => {
    const before = Number((await kpi('k-failures')).replace(/,/g, ''))
    await nextLoad(() => page.selectOption('#f-server', 'crm-prod'))
    expect(new URL(page.url()).searchParams.get('server')).toBe('crm-prod')
    const crm = h.data.connectionEvents.filter((e) => e.outcome === 'failed' && e.server === 'crm-prod').length
    const after = Number((await kpi('k-failures')).replace(/,/g, ''))
    expect(after).toBe(crm)
    expect(after).toBeLessThan(before)
    const legend = await page.locator('#legend button').allTextContents()
    expect(legend.map((t) => t.replace(/[\d.,]+[KMB]?$/, '').trim()).sort()).toEqual(['Network', 'TLS rejected'])
    expect(await page.locator('#top-servers li').count()).toBe(1)
    expect(await page.locator('#feed article').first().textContent()).toContain('crm-prod')
    expect(await painted('#chart-failures canvas')).toBeGreaterThan(200)
  })

  it('filters by category from the legend and restores a shared URL', async () => {
    await nextLoad(() => page.locator('#legend button', { hasText: 'TLS rejected' }).click())
    expect(new URL(page.url()).searchParams.get('category')).toBe('tls_reject')
    expect(await page.locator('#legend button').count()).toBe(1)

    await page.goto(`${h.url}/?server=orders-prod&category=firewall_deny&range=7d&refresh=0`)
    await page.waitForFunction(() => document.body.dataset.loaded !== undefined, null, { timeout: 20_000 })
    expect(await page.locator('#f-server').inputValue()).toBe('orders-prod')
    expect(await page.locator('#f-category').inputValue()).toBe('firewall_deny')
    expect(await page.locator('#f-range').inputValue()).toBe('7d')
    const fw = h.data.connectionEvents.filter(
      (e) => e.outcome === 'failed' && e.server === 'orders-prod' && e.category === 'firewall_deny',
    ).length
    expect(Number((await kpi('k-failures')).replace(/,/g, ''))).toBe(fw)
  })

  it('the ratio tile never says "7 of 0 attempts": a server that logs failures but not connections', async () => {
    const now = Date.now()
    await h.store.insertConnectionEvents([
      {
        id: 'kpi-only-1',
        server: 'kpi-only',
        time: now - 3_600_000,
        outcome: 'failed',
        category: 'auth_fail',
        reason: 'password_auth_failed',
        sqlstate: '28P01',
        user: 'app',
        database: 'orders',
        clientIp: '10.9.9.9',
        message: 'password authentication failed for user "app"',
        source: { kind: 'file', name: '/var/log/pg.log', position: 0 },
      },
    ])
    const open = async (q: string) => {
      await page.goto(`${h.url}/?${q}`)
      await page.waitForFunction(() => document.body.dataset.loaded !== undefined, null, { timeout: 15_000 })
    }
    await open('server=kpi-only')
    expect(await kpi('k-ratio-sub')).toBe('1 failure; attempts not logged (log_connections off)')
    expect(await kpi('k-ratio')).not.toContain('%')
    await open('server=crm-prod')
    expect(await kpi('k-ratio-sub')).toMatch(/^[\d.,]+K? of [\d.,]+K? attempts$/)
  })

  it('serves /incidents/<id>, the page every notification links to: windows, evidence, steps', async () => {
    const fw = h.data.rcaEvents
      .filter((e) => e.category === 'firewall_deny' && e.server === 'orders-prod')
      .sort((a, b) => b.revision - a.revision)[0]
    await page.goto(`${h.url}/incidents/${encodeURIComponent(fw.id)}`)
    await page.waitForSelector('#incident[data-state="ready"]', { timeout: 15_000 })
    expect(await page.locator('#title').textContent()).toBe(fw.title)
    expect(await page.locator('#text').textContent()).toBe(fw.text)
    expect(await page.locator('#steps li').allTextContents()).toEqual(fw.steps)
    const hyps = await page.locator('#hypotheses li').allTextContents()
    expect(hyps[0]).toMatch(/^new clients or a moved egress address \(score 0\.95\).*evidence: addresses \d+/)
    expect(await page.locator('#windows tr').count()).toBe(fw.windows.length)
    expect(await page.locator('#revisions li').count()).toBeGreaterThan(0)
    await page.goto(`${h.url}/incidents/no-such-incident`)
    await page.waitForSelector('#incident[data-state="missing"]', { timeout: 15_000 })
    expect(await page.locator('#message').textContent()).toContain('No incident no-such-incident')
    // the browser logs the 404 of that fetch; it is the expected one, not a page error
    const notFound = pageErrors.findIndex((e) => e.includes('404'))
    expect(notFound).toBeGreaterThanOrEqual(0)
    pageErrors.splice(notFound, 1)
  })

  it('asks for a token when the tab has none', async () => {
    const other = await browser.newPage()
    try {
      await other.goto(`${h.url}/`)
      await other.locator('#auth').waitFor({ state: 'visible', timeout: 15_000 })
      await other.fill('#auth input[name=token]', TOKEN)
      await other.click('#auth button')
      await other.waitForFunction(() => document.body.dataset.loaded !== undefined, null, { timeout: 15_000 })
      expect(await other.locator('#top-servers li').count()).toBe(6)
    } finally {
      await other.close()
    }
  })

  it('made no request outside the api and raised no page errors', () => {
    expect(external).toEqual([])
    expect(pageErrors.filter((e) => !e.includes('401'))).toEqual([])
  })
})
