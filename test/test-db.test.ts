// Test databases for the app's own tests, from code: a pool of copies of the pristine snapshot in the
// running environment (start --db-only on the demo data), taken by rename so concurrent takers never
// share one, given back and replaced; a crashed worker's lease is swept; reset() from code; the
// reference app's example test run as its developers would run it.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { isolatedEnv, repo, runCliSync, tsx } from './helpers/cli.ts'
import { freePort } from './helpers/production-postgres.ts'
import { NoTestEnvironmentError, openTestDatabases, reset } from '../lib/test-db/index.ts'

async function count(url: string, sql = 'SELECT count(*)::int AS n FROM news'): Promise<number> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return (await c.query(sql)).rows[0].n
  } finally {
    await c.end()
  }
}

t.test('nothing running: a clear error', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rotv-test-home-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  await t.rejects(openTestDatabases({ home }), NoTestEnvironmentError)
  const err = await openTestDatabases({ home }).catch((e: NoTestEnvironmentError) => e)
  t.match((err as NoTestEnvironmentError).fix, /npx tsx Taskfile\.ts start/, 'the fix says to start it')
})

t.test('a pool of pristine copies in the running environment', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rotv-test-home-'))
  const env = isolatedEnv({ ROTV_HOME: home, APP_PORT: String(await freePort()), PG_PORT: String(await freePort()) })
  t.teardown(() => {
    runCliSync(['stop'], env)
    rmSync(home, { recursive: true, force: true })
  })
  const started = runCliSync(['start', '--db-only', 'demo', '--json'], env)
  t.equal(started.code, 0, started.all)
  const devUrl: string = JSON.parse(started.stdout).tasks.find((x: { name: string }) => x.name === 'start').result.databaseUrl
  const news = await count(devUrl)
  t.ok(news > 0, 'the snapshot has news')

  const pool = await openTestDatabases({ home, size: 2 })
  t.equal(await pool.fill(), 2, 'fill makes the ready copies')
  t.same((await pool.list()).map((e) => e.state), ['ready', 'ready'])

  // Two pools (as two workers would have) take three at once from two ready ones.
  const other = await openTestDatabases({ home, size: 2 })
  const got = await Promise.all([pool.acquire(), other.acquire(), pool.acquire()])
  t.equal(new Set(got.map((d) => d.name)).size, 3, 'no database is handed out twice')
  t.equal(got.filter((d) => d.fromPool).length, 2, 'two came ready, one was copied while waiting')
  await count(got[0]!.url, 'DELETE FROM news RETURNING 1').catch(() => 0)
  t.equal(await count(got[0]!.url), 0, 'a test may change its copy')
  t.equal(await count(devUrl), news, 'and the dev database does not see it')
  for (const d of got) await d.release()
  await pool.settle()
  await other.settle()
  const fresh = await pool.acquire()
  t.equal(await count(fresh.url), news, 'the next one is pristine')
  await fresh.release()
  await pool.settle()

  // A worker that dies holding a lease: its dirty copy is never handed out, and the next fill drops it.
  const crash = spawnSync(tsx, ['-e', `import('${join(repo, 'lib/test-db/index.ts')}').then(async (m) => { const p = await m.openTestDatabases({ home: ${JSON.stringify(home)}, size: 0 }); const d = await p.acquire(); console.log(d.name); process.exit(0) })`], { encoding: 'utf8', cwd: repo })
  t.equal(crash.status, 0, crash.stderr)
  const orphan = crash.stdout.trim()
  t.match((await pool.list()).find((e) => e.name === orphan), { state: 'leased', alive: false })
  await pool.fill()
  t.notOk((await pool.list()).some((e) => e.name === orphan), 'swept by the next fill')

  const shown = runCliSync(['test-db'], env)
  t.equal(shown.code, 0, shown.all)
  t.match(shown.all, /2 ready, 0 leased/)

  // reset() from code, no CLI process.
  await count(devUrl, 'DELETE FROM news RETURNING 1').catch(() => 0)
  const r = await reset({ home })
  t.equal(r.dbName, 'rotv')
  t.equal(await count(devUrl), news, 'reset() put the snapshot back')

  // The reference app's example test, as its developers run it.
  const example = spawnSync('npm', ['test', '--workspace', 'app'], { cwd: repo, env: { ...env, ROTV_HOME: home }, encoding: 'utf8', timeout: 120_000 })
  t.equal(example.status, 0, `${example.stdout}${example.stderr}`)
  // Node 20 reports as TAP (`# pass 2`) when not on a terminal, Node 22+ as spec (`ℹ pass 2`).
  t.match(example.stdout, /(?:#|ℹ) pass 2\b/)
  t.match(example.stdout, /(?:#|ℹ) fail 0\b/)
  t.equal(runCliSync(['test-db', '--clear'], env).code, 0)
  t.same(await pool.list(), [], 'clear drops them all')
})
