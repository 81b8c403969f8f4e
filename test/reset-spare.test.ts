// The spare copy behind an instant reset, on a real embedded PostgreSQL 17 cluster: made ahead of
// time, unconnectable, swapped in by renames; waited for while in progress; skipped without room.
import t, { type Test } from 'tap'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { freePort } from './helpers/production-postgres.ts'
import { exec, scalar } from './helpers/sql.ts'
import {
  resolveBinaries, resolveServerUser, createDevDataDir, initCluster, startServer, createDatabases, cloneDatabaseFromTemplate,
  makeSpare, resetFromSpare, spareName, forbidConnections, InsufficientSpaceError,
} from '../lib/postgres/index.ts'
import { SPARE_LOCK } from '../lib/postgres/databases.ts'
import { makeSpareCopy, resetToPristine, type SpareJob } from '../lib/runtime/spare.ts'

const binaries = await resolveBinaries()
const user = await resolveServerUser()
const dir = await createDevDataDir({ user })
t.teardown(() => rm(dir.root, { recursive: true, force: true }))
await initCluster({ binaries, pgdata: dir.pgdata })
const server = await startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile: join(dir.root, 'server.log') })
t.teardown(() => server.stop('immediate'))
await createDatabases(server.connection(), ['rotv'])
await exec(server.connection('rotv'), `CREATE TABLE poi (id int PRIMARY KEY, name text NOT NULL);
  INSERT INTO poi SELECT g, 'poi ' || g FROM generate_series(1, 20000) g;`)
await cloneDatabaseFromTemplate(server.connection(), { template: 'rotv', target: 'rotv_pristine' })
await forbidConnections(server.connection(), 'rotv_pristine')
const names = { template: 'rotv_pristine', target: 'rotv', spare: spareName('rotv') }
const job: SpareJob = { port: server.port, dbName: 'rotv', pristineDb: 'rotv_pristine', pgdata: dir.pgdata }

t.test('makeSpare: a copy nobody can connect to, made once', async (t) => {
  t.same(await makeSpare(server.connection(), names).then((r) => r.made), true)
  t.same(await makeSpare(server.connection(), names).then((r) => r.made), false, 'already there: not made again')
  await t.rejects(exec(server.connection(names.spare), 'SELECT 1'), /not currently accepting connections/)
  t.equal(await spareCount(), 1)
})

t.test('resetFromSpare swaps the spare in: the change is gone, held connections end, the pool recovers', async (t) => {
  const pool = new pg.Pool({ ...server.connection('rotv'), max: 2 })
  pool.on('error', () => {})
  t.teardown(() => pool.end())
  await pool.query("DELETE FROM poi WHERE id > 100; UPDATE poi SET name = 'changed' WHERE id = 1")
  const held = await pool.connect()
  held.on('error', () => {})
  t.equal(await resetFromSpare(server.connection(), names), 'spare')
  await t.rejects(held.query('SELECT 1'), 'the held connection was terminated')
  held.release(true)
  t.equal((await pool.query('SELECT count(*)::int AS n FROM poi')).rows[0].n, 20_000)
  t.equal((await pool.query('SELECT name FROM poi WHERE id = 1')).rows[0].name, 'poi 1')
  t.equal(await spareCount(), 0, 'the spare was used up')
  // no spare: the reset copies, with the same result
  await pool.query('DELETE FROM poi')
  t.equal(await resetFromSpare(server.connection(), names), 'copy')
  t.equal((await pool.query('SELECT count(*)::int AS n FROM poi')).rows[0].n, 20_000)
  t.equal(await scalar(server.connection(), "SELECT datallowconn FROM pg_database WHERE datname = 'rotv_pristine'"), false, 'the template stays closed')
})

t.test('a reset waits for a spare copy in progress, and takes it', async (t) => {
  const blocker = await holdSpareLock(t)
  await exec(server.connection('rotv'), 'DELETE FROM poi')
  const copy = makeSpare(server.connection(), names)
  await until(async () => (await scalar(server.connection(), "SELECT count(*)::int FROM pg_stat_activity WHERE application_name = 'rotv spare copy' AND wait_event_type = 'Lock'")) === 1)
  const reset = resetFromSpare(server.connection(), names)
  await sleep(200)
  await blocker.query('SELECT pg_advisory_unlock($1)', [SPARE_LOCK])
  t.equal((await copy).made, true)
  t.equal(await reset, 'spare', 'the reset swapped in the copy it waited for')
  t.equal(await scalar(server.connection('rotv'), 'SELECT count(*)::int FROM poi'), 20_000)
})

t.test('a spare copy that does not finish in time: the reset copies for itself', async (t) => {
  await holdSpareLock(t)
  await exec(server.connection('rotv'), 'DELETE FROM poi')
  const reset = resetFromSpare(server.connection(), { ...names, waitMs: 300 })
  await until(async () => (await scalar(server.connection(), "SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")) === 1)
  t.pass('it waited for the lock first')
  t.equal(await reset, 'copy')
  t.equal(await scalar(server.connection('rotv'), 'SELECT count(*)::int FROM poi'), 20_000)
})

t.test('no room under TMPFS_SIZE: no spare, a clear reason, and reset still works by copying', async (t) => {
  await dropSpare()
  const err = await makeSpareCopy({ ...job, limitBytes: 50 * 1024 ** 2 }).then(() => undefined, (e: unknown) => e)
  t.type(err, InsufficientSpaceError)
  t.match((err as Error).message, /past TMPFS_SIZE=/)
  t.match((err as InsufficientSpaceError).fix, /raise TMPFS_SIZE/)
  t.equal(await spareCount(), 0, 'nothing half-made left')
  t.equal(await resetFromSpare(server.connection(), names), 'copy')
})

t.test('a spare process that outlived its server does not copy inside another cluster on the same port', async (t) => {
  await dropSpare()
  const err = await makeSpareCopy({ ...job, pgdata: '/dev/shm/rotv-gone/pgdata' }).then(() => undefined, (e: unknown) => e)
  t.match((err as Error)?.message, /is another cluster now/)
  t.equal(await spareCount(), 0)
})

t.test('resetToPristine: swaps in the spare, then a background process makes the next one', async (t) => {
  await dropSpare()
  t.equal((await makeSpareCopy(job)).made, true)
  await exec(server.connection('rotv'), 'DELETE FROM poi')
  const log = join(dir.root, 'spare.log')
  const r = await resetToPristine(job, log)
  t.equal(r.via, 'spare')
  t.equal(await scalar(server.connection('rotv'), 'SELECT count(*)::int FROM poi'), 20_000)
  await until(async () => (await spareCount()) === 1, 30_000)
  await until(async () => /: ready in \d+ ms/.test(await readFile(log, 'utf8').catch(() => '')), 10_000)
  t.match(await readFile(log, 'utf8'), /spare copy of rotv_pristine: ready in \d+ ms \(/)
})

/** Hold the spare lock, as a copy in progress does, until the test ends (or blocker.query unlocks it). */
async function holdSpareLock(t: Test): Promise<pg.Client> {
  const blocker = new pg.Client(server.connection())
  await blocker.connect()
  t.teardown(() => blocker.end().catch(() => {}))
  await blocker.query('SELECT pg_advisory_lock($1)', [SPARE_LOCK])
  return blocker
}

async function spareCount(): Promise<number> {
  return (await scalar(server.connection(), `SELECT count(*)::int FROM pg_database WHERE datname = '${names.spare}'`)) as number
}

async function dropSpare(): Promise<void> {
  await exec(server.connection(), `DROP DATABASE IF EXISTS "${names.spare}"`)
}

async function until(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await sleep(25)
  }
}
