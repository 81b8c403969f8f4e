// Finding and verifying the server binaries: embedded, a configured PG_BIN_DIR (Debian's PostgreSQL 15),
// missing ones, and binaries the unprivileged server user cannot reach (copied to a readable place).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, stat, symlink, mkdir, copyFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { debianPostgresBinDir, freePort } from './helpers/production-postgres.ts'
import {
  resolveBinaries, resolveServerUser, createDevDataDir, initCluster, startServer, parseVersion,
  PgBinariesNotFoundError,
} from '../lib/postgres/index.ts'
import type { RotvError } from '../lib/errors.ts'

t.test('PG_BIN_DIR override with Debian PostgreSQL 15: resolves, reports 15, and runs a cluster', async (t) => {
  const binDir = debianPostgresBinDir()
  t.equal(binDir, '/usr/lib/postgresql/15/bin')
  const binaries = await resolveBinaries({ binDir })
  t.equal(binaries.source, 'configured')
  t.equal(binaries.binDir, binDir)
  t.equal(binaries.version.major, 15)
  t.match(binaries.version.full, /^15\.\d+$/)
  t.match(binaries.version.text, /PostgreSQL\) 15\./)

  const user = await resolveServerUser()
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata })
  const server = await startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile: join(dir.root, 'server.log') })
  t.teardown(() => server.stop('immediate'))
  const pg = (await import('pg')).default
  const c = new pg.Client(server.connection())
  await c.connect()
  const v = await c.query('SHOW server_version_num')
  await c.end()
  t.match(v.rows[0].server_version_num, /^15/)
})

t.test('missing binaries -> typed error naming the fix', async (t) => {
  const empty = await mkdtemp(join(tmpdir(), 'rotv-nobin-'))
  t.teardown(() => rm(empty, { recursive: true, force: true }))
  execFileSync('chmod', ['755', empty])
  const err = await resolveBinaries({ binDir: join(empty, 'does-not-exist') }).catch((e: unknown) => e)
  t.type(err, PgBinariesNotFoundError)
  const e = err as RotvError
  t.match(e.message, /missing in PG_BIN_DIR=.*does-not-exist: initdb, pg_ctl, postgres/)
  t.match(e.fix ?? '', /npm ci/)
  t.match(e.fix ?? '', /PG_BIN_DIR/)

  // Only postgres missing (a client-only install): named precisely.
  const partial = join(empty, 'bin')
  await mkdir(partial)
  for (const name of ['initdb', 'pg_ctl']) await symlink(join(debianPostgresBinDir(), name), join(partial, name))
  const err2 = await resolveBinaries({ binDir: partial }).catch((e: unknown) => e)
  t.type(err2, PgBinariesNotFoundError)
  t.match((err2 as Error).message, /: postgres$/)

  // Present but not a working server: a "postgres" that is not one.
  await copyFile('/bin/false', join(partial, 'postgres'))
  const err3 = await resolveBinaries({ binDir: partial }).catch((e: unknown) => e)
  t.type(err3, PgBinariesNotFoundError)
  t.match((err3 as Error).message, /does not run/)
})

t.test('binaries under a private (0700, root-owned) directory are copied where the server user can run them', async (t) => {
  const user = await resolveServerUser()
  const embedded = await resolveBinaries()
  const privateHome = await mkdtemp(join(tmpdir(), 'rotv-privatehome-'))
  const relocateDir = await mkdtemp(join(tmpdir(), 'rotv-reloc-'))
  t.teardown(async () => {
    await rm(privateHome, { recursive: true, force: true })
    await rm(relocateDir, { recursive: true, force: true })
  })
  t.equal((await stat(privateHome)).mode & 0o777, 0o700, 'like /root')
  execFileSync('chmod', ['755', relocateDir])
  execFileSync('cp', ['-a', dirname(embedded.binDir), join(privateHome, 'native')])
  const binaries = await resolveBinaries({ binDir: join(privateHome, 'native', 'bin'), relocateDir })
  t.equal(binaries.version.major, 17)
  if (!user) {
    // Not root: the server runs as this very user, who can read its own private directory.
    t.equal(binaries.relocatedFrom, undefined)
    t.equal(binaries.binDir, join(privateHome, 'native', 'bin'))
    return
  }
  t.equal(binaries.relocatedFrom, join(privateHome, 'native', 'bin'))
  t.match(binaries.binDir, new RegExp(`^${relocateDir}/rotv-pgbin-17\\.\\d+-[0-9a-f]{12}/bin$`))
  const copy = await stat(dirname(binaries.binDir))
  t.equal(copy.uid, 0, 'root owns the copy')
  t.equal(copy.mode & 0o777, 0o755)

  const again = await resolveBinaries({ binDir: join(privateHome, 'native', 'bin'), relocateDir })
  t.equal(again.binDir, binaries.binDir, 'the copy is reused, keyed by version')

  // The copy really serves a cluster run by the unprivileged user.
  const dir = await createDevDataDir({ user })
  t.teardown(() => rm(dir.root, { recursive: true, force: true }))
  await initCluster({ binaries, pgdata: dir.pgdata })
  const server = await startServer({ binaries, pgdata: dir.pgdata, port: await freePort(), logFile: join(dir.root, 'server.log') })
  await server.stop()
})

t.test('parseVersion', async (t) => {
  t.same(parseVersion('postgres (PostgreSQL) 17.10\n'), { major: 17, full: '17.10', text: 'postgres (PostgreSQL) 17.10' })
  t.same(parseVersion('postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)')?.full, '15.18')
  t.same(parseVersion('postgres (PostgreSQL) 18beta1')?.major, 18)
  t.equal(parseVersion('bash: no'), undefined)
})
