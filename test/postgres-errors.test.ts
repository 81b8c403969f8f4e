// The failures a user can meet starting PostgreSQL, each a typed error that names the fix.
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { debianPostgresBinDir, freePort } from './helpers/production-postgres.ts'
import {
  resolveBinaries, resolveServerUser, createDevDataDir, initCluster, startServer, serverStatus, checkFits, parseSize,
  findMemoryFilesystem, assertPortFree, startFailure, PortInUseError, InsufficientSpaceError, ClusterDirError, NotAccessibleError, ServerStartError,
} from '../lib/postgres/index.ts'

const binaries = await resolveBinaries()
const user = await resolveServerUser()

t.test('port in use on 127.0.0.1 -> PortInUseError naming the port and the setting, before starting', async (t) => {
  const port = await freePort()
  const blocker: Server = createServer()
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
  await t.rejects(assertPortFree(port), PortInUseError)

  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata })
  const logFile = join(dir.root, 'server.log')
  const err = await startServer({ binaries, pgdata: dir.pgdata, port, logFile, portSetting: 'PG_PORT' }).catch((e: unknown) => e)
  t.type(err, PortInUseError)
  t.match((err as Error).message, String(port))
  t.match((err as PortInUseError).fix ?? '', /PG_PORT/)
  t.equal((err as PortInUseError).port, port)
  t.equal((await serverStatus(dir.pgdata)).running, false, 'nothing was started')
  t.notOk(existsSync(logFile), 'detected before the server was even launched')
})

t.test("the server's own \"could not bind\" (port taken after the check) also becomes PortInUseError", async (t) => {
  const port = await freePort()
  const blocker: Server = createServer()
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata })
  // The real server, launched directly so it meets the taken port itself, as in a lost race.
  const out = await new Promise<string>((resolve) => {
    execFile(binaries.postgres, ['-D', dir.pgdata, '-p', String(port), '-k', dir.root, '-c', 'listen_addresses=127.0.0.1'],
      { ...(user ? { uid: user.uid, gid: user.gid, cwd: '/' } : {}), timeout: 30_000 },
      (_err, stdout, stderr) => resolve(`${stdout}${stderr}`))
  })
  t.match(out, /could not bind IPv4 address "127\.0\.0\.1": Address already in use/)
  const err = startFailure(out, { port, reason: 'the server exited', logFile: 'server.log', portSetting: 'PG_PORT' })
  t.type(err, PortInUseError)
  t.match(err.fix ?? '', /PG_PORT/)
  const other = startFailure('FATAL:  invalid value for parameter "shared_buffers"', { port, reason: 'the server exited', logFile: 'server.log' })
  t.type(other, ServerStartError)
  t.match(other.message, /shared_buffers/)
})

t.test('settings cannot widen listen_addresses beyond 127.0.0.1', async (t) => {
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata, settings: { listen_addresses: '*' } })
  const server = await startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile: join(dir.root, 'server.log'), settings: { listen_addresses: '*' } })
  t.teardown(() => server.stop('immediate'))
  const { default: pg } = await import('pg')
  const c = new pg.Client(server.connection())
  await c.connect()
  const r = await c.query('SHOW listen_addresses')
  await c.end()
  t.equal(r.rows[0].listen_addresses, '127.0.0.1')
})

t.test('checkFits refuses an estimate above TMPFS_SIZE, or above the free space, naming the setting', async (t) => {
  const fs = await findMemoryFilesystem()
  const limit = parseSize('2G')
  t.equal(limit, 2 * 1024 ** 3)
  t.equal(parseSize('512M'), 512 * 1024 ** 2)
  t.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3)
  t.throws(() => parseSize('lots'))

  await t.resolves(checkFits({ dir: fs.dir, neededBytes: 100 * 1024 ** 2, limitBytes: limit }), 'a small database fits')
  const err = await checkFits({ dir: fs.dir, neededBytes: 3 * 1024 ** 3, limitBytes: limit }).catch((e: unknown) => e)
  t.type(err, InsufficientSpaceError)
  t.match((err as Error).message, /TMPFS_SIZE=2\.0 GiB/)
  t.match((err as InsufficientSpaceError).fix ?? '', /raise TMPFS_SIZE/)

  // Within the configured limit, but more than the filesystem has free.
  const huge = 1024 ** 5
  const err2 = await checkFits({ dir: fs.dir, neededBytes: huge, limitBytes: 2 * huge }).catch((e: unknown) => e)
  t.type(err2, InsufficientSpaceError)
  t.match((err2 as Error).message, /free in/)
  t.match((err2 as Error).message, /TMPFS_SIZE/)
})

t.test('no in-memory filesystem: falls back to the temp dir and says so', async (t) => {
  const shm = await findMemoryFilesystem()
  t.same(shm, { dir: '/dev/shm', inMemory: true }, '/dev/shm is tmpfs here')
  // /work/main is on disk (not tmpfs), like a system without /dev/shm.
  const fallback = await findMemoryFilesystem(['/does-not-exist', process.cwd()])
  t.equal(fallback.dir, tmpdir())
  t.match(fallback.notice ?? '', /no in-memory filesystem found/)
  t.match(fallback.notice ?? '', tmpdir())
})

t.test('a server that cannot start fails with the log tail and leaves no process', async (t) => {
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata })
  const err = await startServer({
    binaries, pgdata: dir.pgdata, port: await freePort(), logFile: join(dir.root, 'server.log'),
    settings: { shared_buffers: 'not-a-size' },
  }).catch((e: unknown) => e)
  t.type(err, ServerStartError)
  t.match((err as Error).message, /shared_buffers/, 'the message carries the server log line')
  t.equal((await serverStatus(dir.pgdata)).running, false)
  t.same(postgresPidsFor(dir.pgdata), [])
})

t.test('a wrong superuser fails at once (no waiting for the timeout) and stops the server', async (t) => {
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata })
  const err = await startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile: join(dir.root, 'server.log'), superuser: 'no_such_role', timeoutMs: 600_000 }).catch((e: unknown) => e)
  t.type(err, ServerStartError)
  t.match((err as Error).message, /refuses the superuser "no_such_role"/)
  t.equal((await serverStatus(dir.pgdata)).running, false)
  t.same(postgresPidsFor(dir.pgdata), [])
})

t.test('PGDATA problems are typed: not a cluster, other major version, unreachable for the server user', async (t) => {
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  const notCluster = join(dir.root, 'junk')
  await mkdir(notCluster)
  await writeFile(join(notCluster, 'README'), 'not a cluster')
  await t.rejects(initCluster({ binaries, pgdata: notCluster }), ClusterDirError)
  await t.rejects(startServer({ binaries, pgdata: join(dir.root, 'empty'), port: await freePort(), logFile: join(dir.root, 'l') }), ClusterDirError)

  const pg15 = await resolveBinaries({ binDir: debianPostgresBinDir() })
  const old = join(dir.root, 'pg15')
  await initCluster({ binaries: pg15, pgdata: old })
  const err = await initCluster({ binaries, pgdata: old }).catch((e: unknown) => e)
  t.type(err, ClusterDirError)
  t.match((err as Error).message, /PostgreSQL 15 cluster, but the server binaries are PostgreSQL 17/)

  if (user) {
    // As root with DATA_DIR under a private directory (like the default ~/.rotv in /root).
    const privateHome = await mkdtemp(join(tmpdir(), 'rotv-private-'))
    t.teardown(() => rm(privateHome, { recursive: true, force: true }))
    const e2 = await initCluster({ binaries, pgdata: join(privateHome, '.rotv', 'pgdata'), mode: 'persistent' }).catch((e: unknown) => e)
    t.type(e2, NotAccessibleError)
    t.match((e2 as NotAccessibleError).fix ?? '', /DATA_DIR/)
  } else {
    t.pass('not root: the server runs as the current user, who reaches its own directories')
  }
})

function postgresPidsFor(pgdata: string): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8')
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      if (cmd.includes(pgdata) && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') out.push(Number(name))
    } catch {}
  }
  return out
}


t.test('a read-only data home: a clear ServerStartError naming the log and the fix, no socket dir left in /tmp', async (t) => {
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata })
  const home = await mkdtemp(join(tmpdir(), 'rotv-ro-home-'))
  // a real read-only mount (tests run as root): EROFS, as a read-only data home gives
  await new Promise<void>((resolve, reject) => execFile('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', home], (e) => (e ? reject(e) : resolve())))
  t.teardown(async () => {
    await new Promise<void>((resolve) => execFile('umount', [home], () => resolve()))
    await rm(home, { recursive: true, force: true })
  })
  // a private TMPDIR (os.tmpdir() reads it per call): other tests' socket dirs cannot appear in it
  const tmp = await mkdtemp(join(tmpdir(), 'rotv-ro-tmp-'))
  const savedTmp = process.env.TMPDIR
  process.env.TMPDIR = tmp
  t.teardown(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = savedTmp
    await rm(tmp, { recursive: true, force: true })
  })
  const sockets = () => readdirSync(tmp).filter((n) => n.startsWith('rotv-pgsock-'))
  const err = await startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile: join(home, 'logs', 'postgres.log') }).catch((e: unknown) => e)
  t.type(err, ServerStartError)
  t.match((err as ServerStartError).message, /postgres\.log (is on a read-only file system|cannot be created) \((EROFS|ENOENT)\)/)
  t.match((err as ServerStartError).fix ?? '', /ROTV_HOME/)
  t.same(sockets(), [], 'no socket directory leaked')
  t.equal((await serverStatus(dir.pgdata)).running, false)
})
