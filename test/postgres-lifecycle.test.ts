// The embedded PostgreSQL 17 server through its whole life, as the start/stop tasks drive it: real
// initdb, real server processes, real connections. As root this runs the server as the unprivileged
// user (postgres or nobody).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative as relativePath } from 'node:path'
import pg from 'pg'
import { freePort } from './helpers/production-postgres.ts'
import {
  resolveBinaries, resolveServerUser, createDevDataDir, initCluster, startServer, stopServer, serverStatus,
  createDatabases, CancelledError, ServerAlreadyRunningError, RunAsUserError, type RunningServer,
} from '../lib/postgres/index.ts'

const binaries = await resolveBinaries()
const user = await resolveServerUser()

t.test('dev mode: init on /dev/shm, start, connect, databases, loopback only, stop leaves no process', async (t) => {
  t.equal(binaries.source, 'embedded')
  t.equal(binaries.version.major, 17)
  t.match(binaries.version.full, /^17\.\d+$/)
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  t.equal(dir.dir, '/dev/shm', 'uses /dev/shm, which is tmpfs on this machine')
  t.equal(dir.inMemory, true)
  t.equal(dir.notice, undefined)
  t.equal(execFileSync('stat', ['-f', '-c', '%T', dir.pgdata.replace(/\/pgdata$/, '')], { encoding: 'utf8' }).trim(), 'tmpfs')

  const init = await initCluster({ binaries, pgdata: dir.pgdata })
  t.equal(init.initialized, true)
  const st = await stat(dir.pgdata)
  t.equal(st.mode & 0o777, 0o700, 'PGDATA is 0700')
  if (user) t.equal(st.uid, user.uid, `PGDATA owned by ${user.name}`)

  const port = await freePort()
  const server = await startServer({ binaries, pgdata: dir.pgdata, port, logFile: join(dir.root, 'server.log') })
  let stopped = false
  t.teardown(async () => {
    if (!stopped) await server.stop('immediate')
  })
  t.equal(server.port, port)
  t.equal(server.host, '127.0.0.1')
  t.equal((await stat(server.socketDir)).mode & 0o777, 0o700, 'private socket directory')
  t.ok(existsSync(join(server.socketDir, `.s.PGSQL.${port}`)), 'unix socket in the private directory')
  if (user) t.equal(processUid(server.pid), user.uid, `server runs as ${user.name}, not root`)

  t.same(await createDatabases(server.connection(), ['rotv', 'rotv_test']), ['rotv', 'rotv_test'])
  t.same(await createDatabases(server.connection(), ['rotv', 'rotv_test']), [], 'idempotent')

  const client = new pg.Client(server.connection('rotv'))
  await client.connect()
  try {
    const who = await client.query('SELECT current_user, current_database(), current_setting($1) AS v', ['server_version_num'])
    t.same(who.rows[0].current_user, 'postgres')
    t.same(who.rows[0].current_database, 'rotv')
    t.match(who.rows[0].v, /^17/)
    t.equal((await client.query('SHOW listen_addresses')).rows[0].listen_addresses, '127.0.0.1')
    t.equal((await client.query('SHOW fsync')).rows[0].fsync, 'off', 'dev mode trades durability for speed')
    t.equal((await client.query('SHOW wal_level')).rows[0].wal_level, 'minimal')
    const rules = await client.query('SELECT type, database, user_name, address, auth_method, error FROM pg_hba_file_rules ORDER BY rule_number')
    t.same(rules.rows.map((r) => [r.type, r.address, r.auth_method, r.error]), [
      ['local', null, 'trust', null],
      ['host', '127.0.0.1', 'trust', null],
      ['host', '::1', 'trust', null],
    ], 'pg_hba: unix socket and loopback, nothing else')
    const dbs = await client.query("SELECT datname FROM pg_database WHERE datname LIKE 'rotv%' ORDER BY 1")
    t.same(dbs.rows.map((r) => r.datname), ['rotv', 'rotv_test'])
  } finally {
    await client.end()
  }

  const status = await serverStatus(dir.pgdata)
  t.equal(status.running, true)
  t.equal(status.pid, server.pid)
  t.equal(status.port, port)
  await t.rejects(startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile: join(dir.root, 'server.log') }), ServerAlreadyRunningError)
  // A stale postmaster.pid elsewhere whose pid now belongs to this (other) live postmaster: not running.
  const other = join(dir.root, 'other')
  await mkdir(other)
  await writeFile(join(other, 'postmaster.pid'), `${server.pid}\n${other}\n0\n${port}\n`)
  t.same(await serverStatus(other), { running: false, stalePidFile: true, pid: server.pid, port, socketDir: undefined, host: undefined, state: undefined })
  // A postmaster.pid a starting server has created but not written yet (empty, or no complete first
  // line): stale for a stop or the next start, but "not yet" for a start waiting for its server.
  for (const text of ['', String(server.pid)]) {
    await writeFile(join(other, 'postmaster.pid'), text)
    t.same(await serverStatus(other), { running: false, stalePidFile: true, incompletePidFile: true }, `pid file ${JSON.stringify(text)}`)
  }

  const family = processFamily(server.pid)
  t.ok(family.length > 1, 'postmaster and its children were found')
  await server.stop()
  stopped = true
  t.same(family.filter(isRunning), [], 'no postgres process left (postmaster and children checked by pid)')
  t.equal((await serverStatus(dir.pgdata)).running, false)
  t.notOk(existsSync(server.socketDir), 'socket directory removed')
})

t.test('persistent mode: durable settings, data survives stop and start, a second initCluster keeps it', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'rotv-persist-'))
  t.teardown(() => rm(home, { recursive: true, force: true }))
  // The server user must reach it: mkdtemp is 0700 root-owned.
  if (user) execFileSync('chmod', ['755', home])
  const pgdata = join(home, 'data', 'pgdata')
  t.equal((await initCluster({ binaries, pgdata, mode: 'persistent' })).initialized, true)
  const logFile = join(home, 'logs', 'server.log') // its directory does not exist yet
  let server: RunningServer = await startServer({ binaries, pgdata, port: await freePort(), logFile })
  t.teardown(() => stopServer({ pgdata, binaries, mode: 'immediate' }))
  await createDatabases(server.connection(), ['rotv'])
  await query(server.connection('rotv'), 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (1), (2), (3)')
  t.equal(await scalar(server.connection(), 'SHOW fsync'), 'on', 'persistent mode keeps fsync on')
  await server.stop()

  t.equal((await initCluster({ binaries, pgdata, mode: 'persistent' })).initialized, false, 'existing cluster kept')
  server = await startServer({ binaries, pgdata, port: await freePort(), logFile })
  t.equal(await scalar(server.connection('rotv'), 'SELECT count(*)::text FROM kept'), '3', 'rows survived the restart')
  await server.stop()
})

t.test('a server killed with SIGKILL leaves a stale postmaster.pid; the next start works', async (t) => {
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata })
  const logFile = join(dir.root, 'server.log')
  const first = await startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile })
  const family = processFamily(first.pid)
  process.kill(first.pid, 'SIGKILL')
  for (const pid of family) await waitUntil(() => !isRunning(pid))
  t.ok(existsSync(join(dir.pgdata, 'postmaster.pid')), 'the killed server left postmaster.pid behind')
  const stale = await serverStatus(dir.pgdata)
  t.equal(stale.running, false)
  t.equal(stale.stalePidFile, true)

  // Given as a relative path this time: the server user's commands run from '/', so it must be resolved.
  const relative = relativePath(process.cwd(), dir.pgdata)
  t.notOk(relative.startsWith('/'))
  const second = await startServer({ binaries, pgdata: relative, port: await freePort(), logFile })
  t.equal(second.pgdata, dir.pgdata)
  t.teardown(() => second.stop('immediate'))
  t.not(second.pid, first.pid)
  t.equal(await scalar(second.connection(), 'SELECT 1::text'), '1')
  // A later process (the `stop` task) stops it knowing only PGDATA.
  const family2 = processFamily(second.pid)
  t.same(await stopServer({ pgdata: relative, binaries }), { wasRunning: true, pid: second.pid })
  t.same(family2.filter(isRunning), [])
  t.same(await stopServer({ pgdata: dir.pgdata, binaries }), { wasRunning: false }, 'stopping a stopped server is fine')
})

t.test('aborting startServer stops the half-started server: no orphan', async (t) => {
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata })
  const before = postgresPidsFor(dir.pgdata)
  t.same(before, [])
  const ac = new AbortController()
  const logFile = join(dir.root, 'server.log')
  const starting = startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile, signal: ac.signal })
  // Abort as soon as the postmaster exists: that is the window where an orphan could be left behind.
  await waitUntil(() => existsSync(join(dir.pgdata, 'postmaster.pid')), 5)
  const pid = Number(readFileSync(join(dir.pgdata, 'postmaster.pid'), 'utf8').split('\n')[0])
  ac.abort()
  await t.rejects(starting, CancelledError)
  t.equal(isRunning(pid), false, 'the postmaster is gone')
  t.same(postgresPidsFor(dir.pgdata), [])
  t.equal((await serverStatus(dir.pgdata)).running, false)
})

t.test('runAs picks the server user (PG_RUN_AS); an unknown one is a typed error', async (t) => {
  if (!user) {
    t.equal(await resolveServerUser('nobody'), undefined, 'not root: runAs is ignored, the server runs as the current user')
    return
  }
  await t.rejects(resolveServerUser('no-such-user-rotv'), RunAsUserError)
  await t.rejects(resolveServerUser('root'), RunAsUserError, 'root is refused: PostgreSQL will not run as root')
  const nobody = await resolveServerUser('nobody')
  t.equal(nobody?.name, 'nobody')
  const dir = await createDevDataDir({ runAs: 'nobody' })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata, runAs: 'nobody' })
  t.equal((await stat(dir.pgdata)).uid, nobody!.uid)
  const server = await startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile: join(dir.root, 'server.log'), runAs: 'nobody' })
  t.teardown(() => server.stop('immediate'))
  t.equal(processUid(server.pid), nobody!.uid, 'the server runs as nobody')
  t.equal(await scalar(server.connection(), 'SELECT 1::text'), '1')
  await server.stop()
  t.equal(isRunning(server.pid), false)
})

async function query(conn: pg.ClientConfig, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client(conn)
  await c.connect()
  try {
    return await c.query(sql)
  } finally {
    await c.end()
  }
}

async function scalar(conn: pg.ClientConfig, sql: string): Promise<unknown> {
  const r = await query(conn, sql)
  return Object.values(r.rows[0] as object)[0]
}

/** Alive and not a zombie (an exited child of init that has not been reaped yet counts as gone). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

function processUid(pid: number): number {
  return statSync(`/proc/${pid}`).uid
}

/** The postmaster and its direct children (checkpointer, walwriter, ...). */
function processFamily(pid: number): number[] {
  const out = [pid]
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(Number(name))
    } catch {}
  }
  return out
}

/** Live processes whose command line names this PGDATA (a postmaster started with -D pgdata). */
function postgresPidsFor(pgdata: string): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8')
      if (cmd.includes(pgdata) && cmd.includes('postgres') && isRunning(Number(name))) out.push(Number(name))
    } catch {}
  }
  return out
}

async function waitUntil(cond: () => boolean, intervalMs = 25, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

t.test('dev mode skeleton: the first initdb is kept and copied by later clusters; a broken one is replaced', async (t) => {
  const skeletonDir = await mkdtemp(join(tmpdir(), 'rotv-skeleton-'))
  t.teardown(() => rm(skeletonDir, { recursive: true, force: true }))
  const systemId = async (pgdata: string, root: string) => {
    const server = await startServer({ binaries, pgdata, port: await freePort(), logFile: join(root, 'server.log') })
    try {
      const c = new pg.Client(server.connection())
      await c.connect()
      const { rows } = await c.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()')
      await c.query('CREATE DATABASE rotv')
      await c.end()
      return rows[0]!.id
    } finally {
      await server.stop('fast')
    }
  }
  const first = await createDevDataDir({ user })
  t.teardown(() => rm(first.root, { recursive: true, force: true }))
  t.equal((await initCluster({ binaries, pgdata: first.pgdata, skeletonDir })).initialized, true)
  const kept = readdirSync(skeletonDir).filter((n) => n.startsWith('.skeleton-pg17-'))
  t.equal(kept.length, 1, 'the fresh initdb was kept as a skeleton')
  t.ok(existsSync(join(skeletonDir, kept[0]!, 'skeleton-complete')))
  const firstId = await systemId(first.pgdata, first.root)

  const second = await createDevDataDir({ user })
  t.teardown(() => rm(second.root, { recursive: true, force: true }))
  t.equal((await initCluster({ binaries, pgdata: second.pgdata, skeletonDir })).initialized, true)
  const st = await stat(second.pgdata)
  t.equal(st.mode & 0o777, 0o700)
  if (user) t.equal(st.uid, user.uid, `copied PGDATA owned by ${user.name}`)
  t.ok(existsSync(join(second.pgdata, 'rotv.conf')), 'the configuration is written as after initdb')
  t.equal(await systemId(second.pgdata, second.root), firstId, 'copied from the skeleton (same system identifier), and it starts')
  t.notOk(existsSync(join(skeletonDir, kept[0]!, 'pgdata', 'base', '16384')), 'the skeleton itself is untouched by the clusters made from it')

  // A skeleton without its completion marker (an interrupted save) is not used: initdb runs and replaces it.
  await rm(join(skeletonDir, kept[0]!, 'skeleton-complete'))
  const third = await createDevDataDir({ user })
  t.teardown(() => rm(third.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: third.pgdata, skeletonDir })
  t.not(await systemId(third.pgdata, third.root), firstId, 'a new initdb (new system identifier)')
  t.ok(existsSync(join(skeletonDir, kept[0]!, 'skeleton-complete')), 'and a new skeleton')
})
