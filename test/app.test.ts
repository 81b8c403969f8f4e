import t from 'tap'
import { DEMO_COUNTS, DEMO_LOGIN } from '../lib/demo/generate.ts'
import { applyMigrations } from '../lib/migrations.ts'
import { ensureFrontendBuilt, loadDemoDump, MIGRATIONS_DIR, pgEnv, pollUntil, startApp, type RunningApp } from './helpers/app-server.ts'
import { freePort, startProductionPostgres } from './helpers/production-postgres.ts'

async function json(res: Response): Promise<any> {
  return res.json()
}

t.test('the app against a real PostgreSQL', async (t) => {
  await ensureFrontendBuilt()
  const pg = await startProductionPostgres({ databases: ['rotv'] })
  t.teardown(() => pg.stop())
  await loadDemoDump(pg, 'rotv')
  const secret = 'test-session-secret-0123456789abcdef'
  const app = await startApp({ ...pgEnv(pg, 'rotv'), SESSION_SECRET: secret, ADMIN_EMAIL: DEMO_LOGIN.email.toUpperCase() })
  t.teardown(() => app.stop())
  const get = (path: string) => fetch(app.url + path)

  t.test('health reports the counts and the schema version', async (t) => {
    const res = await pollUntil(`${app.url}/api/health`, (r) => r.status === 200)
    const body = await json(res)
    t.same(body.counts, { pois: DEMO_COUNTS.pois, destinations: DEMO_COUNTS.destinations, news: DEMO_COUNTS.news, events: DEMO_COUNTS.events, users: DEMO_COUNTS.users })
    t.equal(body.status, 'ok')
    t.equal(body.schemaVersion, '003_destinations_view')
  })

  t.test('/api/destinations returns all 178 destinations as an array', async (t) => {
    const res = await get('/api/destinations')
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type'), /application\/json/)
    const list = await json(res)
    t.ok(Array.isArray(list))
    t.equal(list.length, 178)
    t.equal(new Set(list.map((d: { id: number }) => d.id)).size, 178)
    const cafe = list.find((d: { id: number }) => d.id === 1)
    t.equal(cafe.name, 'Café Brandywine Falls — Überblick')
    t.type(cafe.latitude, 'number')
    t.type(cafe.newsCount, 'number')
  })

  t.test('the long lists are paginated with limit/offset and a total', async (t) => {
    const first = await json(await get('/api/pois'))
    t.equal(first.total, DEMO_COUNTS.pois)
    t.equal(first.limit, 50)
    t.equal(first.offset, 0)
    t.equal(first.items.length, 50)
    const last = await json(await get('/api/pois?limit=100&offset=300'))
    t.equal(last.items.length, DEMO_COUNTS.pois - 300)
    t.equal(last.items[0].id, 301)
    const beyond = await json(await get('/api/pois?offset=1000'))
    t.same(beyond.items, [])
    t.equal(beyond.total, DEMO_COUNTS.pois, 'total also past the end')
    const destinations = await json(await get('/api/pois?destination=true&limit=500'))
    t.equal(destinations.total, 178)
    t.ok(destinations.items.every((p: { isDestination: boolean }) => p.isDestination))

    const news = await json(await get('/api/news?limit=10&offset=640'))
    t.equal(news.total, DEMO_COUNTS.news)
    t.equal(news.items.length, 7)
    const newest = await json(await get('/api/news?limit=3'))
    const dates = newest.items.map((n: { publishedAt: string }) => Date.parse(n.publishedAt))
    t.ok(dates[0] >= dates[1] && dates[1] >= dates[2], 'news newest first')

    const events = await json(await get('/api/events?limit=500&offset=500'))
    t.equal(events.total, DEMO_COUNTS.events)
    t.equal(events.items.length, DEMO_COUNTS.events - 500)

    for (const bad of ['/api/pois?limit=0', '/api/pois?limit=501', '/api/news?offset=-1', '/api/events?limit=abc', '/api/pois?destination=maybe']) {
      const res = await get(bad)
      t.equal(res.status, 400, bad)
      t.type((await json(res)).error, 'string')
    }
    t.equal((await get('/api/nothing-here')).status, 404)
  })

  t.test('password login stores the session in PostgreSQL', async (t) => {
    const status = await json(await get('/api/auth/status'))
    t.equal(status.authenticated, false)
    t.equal(status.oauth.enabled, false)
    t.match(status.oauth.reason, /OAuth login is disabled/)

    const wrong = await fetch(`${app.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: DEMO_LOGIN.email, password: 'nope' }) })
    t.equal(wrong.status, 401)
    t.equal(wrong.headers.get('set-cookie'), null)
    const missing = await fetch(`${app.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    t.equal(missing.status, 400)

    const before = Number((await pg.psql('rotv', ['-At', '-c', 'SELECT count(*) FROM public.session'])).stdout)
    const res = await fetch(`${app.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(DEMO_LOGIN) })
    t.equal(res.status, 200)
    const body = await json(res)
    t.equal(body.user.email, DEMO_LOGIN.email)
    t.equal(body.user.isAdmin, true, 'ADMIN_EMAIL (any case) marks the admin')
    const cookie = res.headers.get('set-cookie') ?? ''
    t.match(cookie, /^rotv\.sid=/)
    t.match(cookie, /HttpOnly/i)
    const sid = decodeURIComponent(cookie.split(';')[0]!.slice('rotv.sid='.length)).replace(/^s:/, '').replace(/\.[^.]*$/, '')
    const row = (await pg.psql('rotv', ['-At', '-c', `SELECT sess::jsonb ->> 'userId', expire > now() FROM public.session WHERE sid = '${sid.replace(/'/g, "''")}'`])).stdout.trim()
    t.equal(row, '2|t', 'the session row is in the session table, for the demo user')
    const after = Number((await pg.psql('rotv', ['-At', '-c', 'SELECT count(*) FROM public.session'])).stdout)
    t.equal(after, before + 1)

    const authed = await json(await fetch(`${app.url}/api/auth/status`, { headers: { cookie: cookie.split(';')[0]! } }))
    t.equal(authed.authenticated, true)
    t.equal(authed.user.name, 'Demo Explorer')

    const out = await fetch(`${app.url}/api/auth/logout`, { method: 'POST', headers: { cookie: cookie.split(';')[0]! } })
    t.equal(out.status, 200)
    const gone = (await pg.psql('rotv', ['-At', '-c', `SELECT count(*) FROM public.session WHERE sid = '${sid.replace(/'/g, "''")}'`])).stdout.trim()
    t.equal(gone, '0', 'logout deletes the session row')
  })

  t.test('the built frontend is served at /', async (t) => {
    const res = await get('/')
    t.equal(res.status, 200)
    t.match(await res.text(), /<title>Roots of The Valley<\/title>/)
  })

  t.test('the session secret is never logged', async (t) => {
    t.notMatch(app.output(), secret)
    t.notMatch(app.output(), /random per-process secret/)
  })

  t.test('SIGTERM stops the server cleanly', async (t) => {
    const code = await app.stop('SIGTERM')
    t.equal(code, 0)
    t.match(app.output(), /SIGTERM: shutting down/)
    t.match(app.output(), /stopped/)
  })
})

t.test('the app starts without a database and becomes ready when it appears', async (t) => {
  const pg = await startProductionPostgres()
  t.teardown(() => pg.stop())
  const apps: RunningApp[] = []
  t.teardown(() => Promise.all(apps.map((a) => a.stop('SIGKILL'))))

  t.test('no server on the port: 503 with a reason, and SIGINT still stops it', async (t) => {
    const deadPort = await freePort()
    const app = await startApp({ PGHOST: '127.0.0.1', PGPORT: String(deadPort), PGUSER: 'postgres', PGDATABASE: 'rotv' })
    apps.push(app)
    const res = await fetch(`${app.url}/api/health`)
    t.equal(res.status, 503)
    const body = await json(res)
    t.equal(body.status, 'unavailable')
    t.match(body.reason, /not reachable/)
    t.equal((await fetch(`${app.url}/api/destinations`)).status, 503, 'API calls answer 503 too, not 500')
    t.match(app.output(), /SESSION_SECRET is not set: using a random per-process secret/)
    t.equal(await app.stop('SIGINT'), 0)
  })

  t.test('database created later: 503 until it exists and is loaded, then 200', async (t) => {
    const app = await startApp(pgEnv(pg, 'late'))
    apps.push(app)
    const missing = await fetch(`${app.url}/api/health`)
    t.equal(missing.status, 503)
    t.match((await json(missing)).reason, /does not exist/)

    await pg.psql('postgres', ['-c', 'CREATE DATABASE late'])
    const empty = await fetch(`${app.url}/api/health`)
    t.equal(empty.status, 503)
    t.match((await json(empty)).reason, /schema is not loaded/)

    await loadDemoDump(pg, 'late', { omitNewestMigrations: 1 })
    const older = await json(await pollUntil(`${app.url}/api/health`, (r) => r.status === 200))
    t.equal(older.schemaVersion, '002_job_logs', 'schema version is the newest applied migration')
    t.equal(older.counts.destinations, 178)

    await applyMigrations(pg.url('late'), MIGRATIONS_DIR)
    const ready = await json(await fetch(`${app.url}/api/health`))
    t.equal(ready.schemaVersion, '003_destinations_view')
    t.equal((await json(await fetch(`${app.url}/api/destinations`))).length, 178)
    t.equal(await app.stop('SIGTERM'), 0)
  })
})
