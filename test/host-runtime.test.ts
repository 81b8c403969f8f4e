// The main job, end to end through the CLI: start on the demo snapshot in memory, the original setup's
// own checks (371 POIs, /api/destinations length 178), a clean slate across restarts, warm starts,
// reset, persistent mode, and the failures a user meets.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { readState } from '../lib/runtime/state.ts'
import { spawn } from 'node:child_process'
import { isolatedEnv, runCliSync, taskfile, tsx, repo } from './helpers/cli.ts'
import { freePort } from './helpers/production-postgres.ts'

interface Env {
  env: NodeJS.ProcessEnv
  home: string
  appPort: number
  pgPort: number
}

async function environment(t: { teardown: (fn: () => void) => void }, extra: NodeJS.ProcessEnv = {}): Promise<Env> {
  // Not t.testdir(): tap removes those before later teardowns run, and `stop` needs the run state.
  const home = mkdtempSync(join(tmpdir(), 'rotv-test-home-'))
  const appPort = await freePort()
  const pgPort = await freePort()
  const envFile = join(home, 'test.env')
  writeFileSync(envFile, '')
  const env = isolatedEnv({ ROTV_HOME: home, APP_PORT: String(appPort), PG_PORT: String(pgPort), ...extra })
  const e = { env, home, appPort, pgPort }
  t.teardown(() => {
    runCliSync(['stop', '--dotenv', envFile], env)
    rmSync(home, { recursive: true, force: true })
  })
  return { ...e, env: { ...env, ROTV_DOTENV: envFile } }
}

const cli = (e: Env, args: string[]) => runCliSync([...args, '--dotenv', e.env.ROTV_DOTENV!], e.env)

async function sql<T = Record<string, unknown>>(e: Env, text: string): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', port: e.pgPort, user: 'postgres', database: 'rotv' })
  await client.connect()
  try {
    return (await client.query(text)).rows as T[]
  } finally {
    await client.end()
  }
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url)
  return res.json()
}

t.test('start on the demo snapshot, clean slate across restarts, warm start, reset', async (t) => {
  const e = await environment(t)
  const first = cli(e, ['start', '--json'])
  t.equal(first.code, 0, first.stderr)
  const report = JSON.parse(first.stdout)
  const start = report.tasks.find((x: { name: string }) => x.name === 'start')
  t.match(start.summary, `ready at http://localhost:${e.appPort}: 371 POIs, 178 destinations, 647 news, 680 events`)
  t.equal(start.result.prepared, 'imported', 'the first start imports the snapshot')
  t.same(report.tasks.map((x: { name: string }) => x.name), ['validate-env', 'seed-fresh', 'start'])

  // The original setup's checks.
  t.equal(((await getJson(`http://127.0.0.1:${e.appPort}/api/destinations`)) as unknown[]).length, 178)
  t.same(await sql(e, 'SELECT count(*)::int AS n FROM pois'), [{ n: 371 }])
  const dbs = (await sql<{ datname: string }>(e, 'SELECT datname FROM pg_database ORDER BY 1')).map((r) => r.datname)
  t.ok(dbs.includes('rotv') && dbs.includes('rotv_test'), 'the databases the original created exist')
  t.same(await sql(e, "SELECT current_setting('listen_addresses') AS l"), [{ l: '127.0.0.1' }], 'listens on loopback only')

  const state = await readState(e.home)
  t.ok(state?.pgdata.startsWith('/dev/shm/'), `PGDATA is in memory: ${state?.pgdata}`)
  t.ok(state?.warmSave?.pid, 'the warm cluster is being saved in the background (start did not wait for it)')

  // A second start while running is a clear message.
  const again = cli(e, ['start'])
  t.equal(again.code, 1)
  t.match(again.stdout, /already running/)

  // status
  const status = cli(e, ['status', '--json'])
  t.equal(status.code, 0)
  t.match(JSON.parse(status.stdout).tasks[0].result, { running: true, healthy: true, mode: 'dev', snapshot: { name: 'demo' } })

  // reset puts the snapshot back without restarting the app
  await sql(e, "INSERT INTO pois (slug, name, poi_type, latitude, longitude) VALUES ('test-poi', 'Test POI', 'trail', 41.2, -81.5)")
  t.same(await sql(e, "SELECT count(*)::int AS n FROM pois WHERE name = 'Test POI'"), [{ n: 1 }])
  const appPid = state?.appPid
  const spareLog = () => readFileSync(join(e.home, 'logs', 'spare.log'), 'utf8')
  await until(() => /: ready in \d+ ms/.test(spareLog()), 30_000)
  const reset = cli(e, ['reset', '--json'])
  t.equal(reset.code, 0, reset.all)
  t.equal(JSON.parse(reset.stdout).tasks[0].result.via, 'spare', 'the spare copy made after start was swapped in')
  t.same(await sql(e, "SELECT count(*)::int AS n FROM pois WHERE name = 'Test POI'"), [{ n: 0 }], 'reset removed the change')
  t.equal((await readState(e.home))?.appPid, appPid, 'the app was not restarted')
  // and the next spare is made in the background, for the next reset
  await until(() => spareLog().match(/: ready in \d+ ms/g)?.length === 2, 30_000)
  t.same(await sql(e, "SELECT datname, datallowconn FROM pg_database WHERE datname LIKE '%spare%'"), [{ datname: 'rotv__rotv_spare', datallowconn: false }])
  const withSpare = cli(e, ['status', '--json'])
  t.match(JSON.parse(withSpare.stdout).tasks[0].result, { running: true, spareReady: true })
  const health = (await getJson(`http://127.0.0.1:${e.appPort}/api/health`)) as { counts: { pois: number } }
  t.equal(health.counts.pois, 371, 'the app answers from the reset database')

  // clean slate: insert, stop, start -> gone; and the second start is warm
  await sql(e, "INSERT INTO pois (slug, name, poi_type, latitude, longitude) VALUES ('test-poi', 'Test POI', 'trail', 41.2, -81.5)")
  const stop = cli(e, ['stop'])
  t.equal(stop.code, 0)
  t.match(stop.stdout, /in-memory data discarded/)
  t.notOk(existsSync(state!.pgdata), 'the in-memory data directory is gone')
  t.match(readFileSync(join(e.home, 'logs', 'warm-save.log'), 'utf8'), /warm save pg17-[0-9a-f]+: saved \d+ files/, 'stop let the background save finish')
  const second = cli(e, ['start', '--json'])
  t.equal(second.code, 0, second.stderr)
  t.equal(JSON.parse(second.stdout).tasks.at(-1).result.prepared, 'warm', 'the second start copies the cached cluster')
  t.same(await sql(e, "SELECT count(*)::int AS n FROM pois WHERE name = 'Test POI'"), [{ n: 0 }], 'clean slate: the Test POI is gone')
  t.same(await sql(e, 'SELECT count(*)::int AS n FROM pois'), [{ n: 371 }])
  t.equal(cli(e, ['stop']).code, 0)

  // a byte flipped deep in a relation file of the cached cluster (same size, head and tail intact):
  // found before use, the entry discarded, the snapshot imported instead, saying why
  const entry = cacheEntries(e.home)
  t.equal(entry.length, 1, `one warm cluster cached: ${entry.join(', ')}`)
  const relation = largestFile(join(entry[0]!, 'pgdata', 'base'))
  const bytes = readFileSync(relation)
  const at = Math.floor(bytes.length / 2) + 77
  bytes[at] = bytes[at]! ^ 0x20
  writeFileSync(relation, bytes)
  const third = cli(e, ['start', '--json'])
  t.equal(third.code, 0, third.stderr)
  t.equal(JSON.parse(third.stdout).tasks.at(-1).result.prepared, 'imported', 'the damaged warm cluster was not used')
  t.match(third.all, /the cached cluster pg17-[0-9a-f]+ was unusable \(base\/\d+\/\d+ content differs\) and has been removed; importing the snapshot instead/)
  t.same(await sql(e, 'SELECT count(*)::int AS n FROM pois'), [{ n: 371 }], 'the right rows, from the snapshot')
  t.equal(cli(e, ['stop']).code, 0)
})

/** Warm cluster cache entries (directories holding a manifest.json) anywhere under the data home. */
function cacheEntries(home: string): string[] {
  const out: string[] = []
  for (const rel of readdirSync(home, { recursive: true }) as string[]) {
    if (rel.endsWith('/manifest.json') && existsSync(join(home, rel.slice(0, -'/manifest.json'.length), 'pgdata', 'global', 'pg_control'))) {
      out.push(join(home, rel.slice(0, -'/manifest.json'.length)))
    }
  }
  return out
}

function largestFile(dir: string): string {
  let best = { path: '', size: -1 }
  for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, rel)
    const size = statSync(path).isFile() ? statSync(path).size : -1
    if (size > best.size) best = { path, size }
  }
  return best.path
}

t.test('what a newcomer reads: one summary, one line of features off, Ctrl-C in logs is "stopped", fix lines that fix', async (t) => {
  const e = await environment(t)
  const first = cli(e, ['start'])
  t.equal(first.code, 0, first.all)
  const lines = first.stdout.trim().split('\n')
  t.equal(lines.filter((l) => l.includes('ready at')).length, 1, 'the summary once')
  t.match(lines.at(-1), /^done in [\d.]+s$/)
  t.notMatch(first.stdout, /^. off: /m, 'no paragraph of optional features as a dependency')
  t.match(first.stdout, /optional features off: production source, session secret, OAuth login, admin \(how to turn them on: npx tsx Taskfile\.ts validate-env\)/)
  t.notMatch(first.stdout, /\b\d{4,} rows/, 'row counts in one format (27,150)')
  t.notMatch(first.stdout, /KB of SQL/, 'no first-tick progress line in plain output')

  // The documented way out of logs is a normal end.
  const logs = spawn(tsx, [taskfile, 'logs', '--dotenv', e.env.ROTV_DOTENV!], { cwd: repo, env: e.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  logs.stdout.on('data', (d) => (out += d))
  logs.stderr.on('data', (d) => (out += d))
  await until(() => out.includes('[rotv] listening on'), 30_000)
  process.kill(-logs.pid!, 'SIGINT')
  const code = await new Promise<number | null>((resolve) => logs.on('exit', (c) => resolve(c)))
  t.equal(code, 0, 'leaving logs with Ctrl-C is a normal end')
  t.match(out, /logs: stopped/)
  t.notMatch(out, /FAILED|interrupted/)

  // The app says it reconnected after a reset, not that its connection was lost.
  const spareLog = () => readFileSync(join(e.home, 'logs', 'spare.log'), 'utf8')
  await until(() => /: ready in \d+ ms/.test(spareLog()), 30_000)
  // A request leaves the app an idle pooled connection: the one the reset ends.
  await fetch(`http://127.0.0.1:${e.appPort}/api/destinations`)
  t.equal(cli(e, ['reset']).code, 0)
  const state = await readState(e.home)
  await until(() => readFileSync(state!.logs.app, 'utf8').includes('database reset: reconnected'), 15_000)
  t.notMatch(readFileSync(state!.logs.app, 'utf8'), /database connection lost/)

  t.match(cli(e, ['snapshots', 'verify', 'nosuch']).stdout, /fix: the snapshots there are: demo; to pull it from a source: npx tsx Taskfile\.ts seed SOURCE --as nosuch/)

  // PostgreSQL died, the app still runs: reset says so instead of "not running".
  process.kill(Number(readFileSync(join(state!.pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGKILL')
  await until(() => !existsSync(join(state!.pgdata, 'postmaster.pid')) || cli(e, ['status', '--json']).stdout.includes('"healthy": false'), 15_000)
  const reset = cli(e, ['reset'])
  t.equal(reset.code, 1)
  t.match(reset.stdout, /PostgreSQL of the running environment has stopped \(its log: .*\)/)
  t.match(reset.stdout, /fix: start again on a clean slate: npx tsx Taskfile\.ts stop start/)
  t.equal(cli(e, ['stop']).code, 0)

  // A host start while the dev container's environment is recorded as running: where it runs, not a port clash.
  writeFileSync(join(e.home, 'run', 'container.json'), JSON.stringify({ runtime: 'container', engine: 'podman', name: 'rotv', image: 'x', startedAt: new Date().toISOString(), mode: 'dev', appPort: e.appPort, publishAddress: '127.0.0.1' }))
  const clash = cli(e, ['start'])
  rmSync(join(e.home, 'run', 'container.json'))
  t.equal(clash.code, 1)
  t.match(clash.stdout, /already running in the container/)
  t.match(clash.stdout, /fix: use it, or stop it first: RUNTIME=container npx tsx Taskfile\.ts stop/)
})

t.test('persistent mode keeps data across restarts', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'rotv-test-data-'))
  chmodSync(parent, 0o755) // the server user (not root) must reach DATA_DIR
  const dataDir = join(parent, 'pgdata')
  t.teardown(() => rmSync(join(dataDir, '..'), { recursive: true, force: true }))
  const e = await environment(t, { PERSISTENT_DATA: 'true', DATA_DIR: dataDir, SESSION_SECRET: 'x'.repeat(40) })
  const first = cli(e, ['start'])
  t.equal(first.code, 0, first.all)
  t.match(first.stdout, /371 POIs/)
  await sql(e, "INSERT INTO pois (slug, name, poi_type, latitude, longitude) VALUES ('test-poi', 'Test POI', 'trail', 41.2, -81.5)")
  t.equal(cli(e, ['stop']).code, 0)
  t.ok(existsSync(join(dataDir, 'PG_VERSION')), 'the cluster is on disk')
  const second = cli(e, ['start', '--json'])
  t.equal(second.code, 0, second.stderr)
  t.equal(JSON.parse(second.stdout).tasks.at(-1).result.prepared, 'kept', 'the snapshot does not overwrite persistent data')
  t.same(await sql(e, "SELECT count(*)::int AS n FROM pois WHERE name = 'Test POI'"), [{ n: 1 }], 'the Test POI survived')
  const reset = cli(e, ['reset'])
  t.equal(reset.code, 1, 'reset refuses to throw persistent data away')
  t.match(reset.stdout, /persistent data/)
  t.equal(cli(e, ['stop']).code, 0)
  t.equal(await readState(e.home), undefined)
})

t.test('port already in use: a clear error naming the setting, nothing left running', async (t) => {
  const e = await environment(t)
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(e.appPort, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())))
  const before = shmEntries()
  const r = cli(e, ['start'])
  t.equal(r.code, 1)
  t.match(r.stdout, new RegExp(`port ${e.appPort}`))
  t.match(r.stdout, /APP_PORT/)
  t.same(shmEntries().filter((x) => !before.includes(x) && x.startsWith('rotv-')), [], 'no in-memory directory left behind')
  t.equal(await readState(e.home), undefined, 'no run state left behind')
})

function shmEntries(): string[] {
  return existsSync('/dev/shm') ? readdirSync('/dev/shm') : []
}

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}
