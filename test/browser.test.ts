import t from 'tap'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { DEMO_COUNTS } from '../lib/demo/generate.ts'
import { ensureFrontendBuilt, loadDemoDump, pgEnv, pollUntil, startApp } from './helpers/app-server.ts'
import { startProductionPostgres } from './helpers/production-postgres.ts'

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOT = '/tmp/rotv-front-page.png'

t.test('the front page in a real Chromium shows the demo data', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} is installed (apt-get install -y chromium)`)
  await ensureFrontendBuilt()
  const pg = await startProductionPostgres({ databases: ['rotv'] })
  t.teardown(() => pg.stop())
  await loadDemoDump(pg, 'rotv')
  const app = await startApp(pgEnv(pg, 'rotv'))
  t.teardown(() => app.stop())
  await pollUntil(`${app.url}/api/health`, (r) => r.status === 200)

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const consoleErrors: string[] = []
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()) })
  page.on('pageerror', (err) => consoleErrors.push(err.message))

  await page.goto(app.url, { waitUntil: 'load' })
  await page.locator('#status.ok').waitFor({ timeout: 15_000 })

  t.equal(await page.title(), 'Roots of The Valley')
  t.equal(await page.locator('[data-count="pois"]').textContent(), String(DEMO_COUNTS.pois))
  t.equal(await page.locator('[data-count="destinations"]').textContent(), String(DEMO_COUNTS.destinations))
  t.equal(await page.locator('[data-count="news"]').textContent(), String(DEMO_COUNTS.news))
  t.equal(await page.locator('[data-count="events"]').textContent(), String(DEMO_COUNTS.events))
  t.equal(await page.locator('#destination-list > li').count(), 178)
  t.equal(await page.locator('#destination-count').textContent(), '178')
  t.ok(await page.getByText('Café Brandywine Falls — Überblick').isVisible(), 'non-ASCII names render')
  t.match(await page.locator('#status').textContent(), /schema 003_destinations_view/)
  await page.screenshot({ path: SCREENSHOT })

  await page.locator('#filter').fill('falls')
  const filtered = await page.locator('#destination-list > li').count()
  t.ok(filtered > 0 && filtered < 178, `filtering narrows the list (${filtered})`)
  t.match(await page.locator('#destination-count').textContent(), new RegExp(`^${filtered} of 178$`))
  t.same(consoleErrors, [], 'no errors in the browser console')
})
