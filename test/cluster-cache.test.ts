// The warm cluster cache and the template reset, on real embedded PostgreSQL 17 clusters.
import t, { type Test } from 'tap'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, truncate, unlink, utimes, writeFile, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from './helpers/production-postgres.ts'
import { exec, scalar } from './helpers/sql.ts'
import {
  resolveBinaries, resolveServerUser, createDevDataDir, initCluster, startServer, stopServer, createDatabases, cloneDatabaseFromTemplate,
  clusterCacheKey, saveCluster, restoreCluster, verifyClusterEntry, pruneClusters, listClusters, clusterState, stageCluster, saveStagedCluster,
  forbidConnections, databaseOids,
  ClusterNotStoppedError, InsufficientSpaceError, CancelledError, StableDirChangedError, type PgBinaries, type ServerUser, type RunningServer,
} from '../lib/postgres/index.ts'

const binaries = await resolveBinaries()
const user = await resolveServerUser()
const cacheDir = await mkdtemp(join(tmpdir(), 'rotv-cluster-cache-'))
t.teardown(() => rm(cacheDir, { recursive: true, force: true }))

const key = clusterCacheKey({ snapshotSha256: 'a'.repeat(64), pgVersion: binaries.version.full, migrationsDigest: 'm1' })
// One imported cluster, saved once; the corruption tests restore from fresh copies of it.
const source = await buildCluster(binaries, user)
t.teardown(async () => {
  await stopServer({ pgdata: source.pgdata, binaries, mode: 'immediate' })
  await rm(source.root, { recursive: true, force: true })
})

t.test('clusterCacheKey is stable, filesystem-safe and changes with each input', async (t) => {
  const base = { snapshotSha256: 'a'.repeat(64), pgVersion: '17.10', migrationsDigest: 'm1' }
  t.equal(clusterCacheKey(base), clusterCacheKey({ ...base }))
  t.match(clusterCacheKey(base), /^pg17-[0-9a-f]{32}$/)
  t.not(clusterCacheKey(base), clusterCacheKey({ ...base, snapshotSha256: 'b'.repeat(64) }))
  t.not(clusterCacheKey(base), clusterCacheKey({ ...base, pgVersion: '17.11' }))
  t.not(clusterCacheKey(base), clusterCacheKey({ ...base, migrationsDigest: 'm2' }))
  t.throws(() => clusterCacheKey({ ...base, migrationsDigest: '' }))
})

t.test('save (stopping the running server), restore into a new dir, start: the rows are there', async (t) => {
  t.equal(await clusterState(source.pgdata), 'in production', 'server still running')
  await t.rejects(saveCluster({ cacheDir, key, pgdata: source.pgdata }), ClusterNotStoppedError, 'a running cluster is refused without stop')
  const saved = await saveCluster({ cacheDir, key, pgdata: source.pgdata, stop: { binaries } })
  t.equal(saved.key, key)
  t.ok(saved.bytes > 10 * 1024 ** 2, `cached ${saved.bytes} bytes in ${saved.files} files`)
  t.equal(await clusterState(source.pgdata), 'shut down')
  t.same((await readdir(cacheDir)).filter((n) => n.startsWith('.')), [], 'no temp dirs left')
  t.equal((await verifyClusterEntry(cacheDir, key)).ok, true)
  t.same((await listClusters(cacheDir)).map((e) => e.key), [key])

  const target = await createDevDataDir({ user })
  t.teardown(() => rm(target.root, { recursive: true, force: true }))
  const restored = await restoreCluster({ cacheDir, key, pgdata: target.pgdata, limitBytes: 2 * 1024 ** 3 })
  t.same(restored, { hit: true, key, files: saved.files, bytes: saved.bytes })
  const st = await stat(target.pgdata)
  t.equal(st.mode & 0o777, 0o700)
  if (user) t.equal(st.uid, user.uid, `restored PGDATA owned by ${user.name}`)
  const server = await startServer({ binaries, pgdata: target.pgdata, port: await freePort(), logFile: join(target.root, 'server.log') })
  t.teardown(() => server.stop('immediate'))
  t.equal(await scalar(server.connection('rotv'), 'SELECT count(*)::int FROM poi'), 50_000)
  t.equal(await scalar(server.connection('rotv'), "SELECT name FROM poi WHERE id = 4242"), 'poi 4242')
  t.equal(await scalar(server.connection('rotv'), 'SHOW data_checksums'), 'on', 'initCluster makes clusters with data checksums')
})

t.test('restore refuses an entry bigger than TMPFS_SIZE before copying', async (t) => {
  const target = await createDevDataDir({ user })
  t.teardown(() => rm(target.root, { recursive: true, force: true }))
  await t.rejects(restoreCluster({ cacheDir, key, pgdata: target.pgdata, limitBytes: 1024 * 1024 }), InsufficientSpaceError)
  t.notOk(existsSync(target.pgdata))
})

t.test('an aborted restore leaves no partial PGDATA', async (t) => {
  const target = await createDevDataDir({ user })
  t.teardown(() => rm(target.root, { recursive: true, force: true }))
  await t.rejects(restoreCluster({ cacheDir, key, pgdata: target.pgdata, signal: AbortSignal.abort() }), CancelledError)
  t.notOk(existsSync(target.pgdata))
  t.equal((await verifyClusterEntry(cacheDir, key)).ok, true, 'the entry itself is untouched')
})

t.test('a missing entry is a miss', async (t) => {
  const target = await createDevDataDir({ user })
  t.teardown(() => rm(target.root, { recursive: true, force: true }))
  t.same(await restoreCluster({ cacheDir, key: 'pg17-nothing', pgdata: target.pgdata }), { hit: false, key: 'pg17-nothing', reason: 'missing' })
})

const corruptions: Array<[string, (entry: string) => Promise<void>, RegExp]> = [
  ['a deleted file', (entry) => unlink(join(entry, 'pgdata', 'global', 'pg_filenode.map')), /pg_filenode\.map is missing/],
  ['a truncated relation file', async (entry) => {
    const big = await largestFile(join(entry, 'pgdata', 'base'))
    await truncate(big, (await stat(big)).size - 8192)
  }, /has \d+ bytes, expected/],
  ['an overwritten control file (same size)', async (entry) => {
    const f = join(entry, 'pgdata', 'global', 'pg_control')
    const buf = await readFile(f)
    buf[16] = buf[16]! ^ 0xff
    await writeFile(f, buf)
  }, /pg_control content differs/],
  ['a byte flipped deep in a relation file (same size, same head and tail)', async (entry) => {
    const big = await largestFile(join(entry, 'pgdata', 'base'))
    const buf = await readFile(big)
    const at = Math.floor(buf.length / 2) + 123
    buf[at] = buf[at]! ^ 0x01
    await writeFile(big, buf)
  }, /base\/\d+\/\d+ content differs/],
  ['a flipped manifest', async (entry) => {
    const f = join(entry, 'manifest.json')
    const m = JSON.parse(await readFile(f, 'utf8'))
    m.files[3][1] += 1
    await writeFile(f, JSON.stringify(m))
  }, /manifest digest/],
  ['a truncated manifest', async (entry) => {
    const f = join(entry, 'manifest.json')
    await truncate(f, 100)
  }, /manifest unreadable/],
  ['an extra file', (entry) => writeFile(join(entry, 'pgdata', 'postmaster.pid'), '12345\n'), /unexpected/],
]

for (const [what, corrupt, detail] of corruptions) {
  t.test(`corrupt cache entry (${what}): detected, reported, removed, not used`, async (t) => {
    const k = `${key}-${corruptions.findIndex((c) => c[0] === what)}`
    await saveCluster({ cacheDir, key: k, pgdata: source.pgdata })
    await corrupt(join(cacheDir, k))
    const check = await verifyClusterEntry(cacheDir, k)
    t.equal(check.ok, false)
    if (!check.ok) t.match(check.detail, detail)
    const target = await createDevDataDir({ user })
    t.teardown(() => rm(target.root, { recursive: true, force: true }))
    const r = await restoreCluster({ cacheDir, key: k, pgdata: target.pgdata })
    t.equal(r.hit, false)
    if (!r.hit) {
      t.equal(r.reason, 'corrupt')
      t.match(r.notice ?? '', k)
      t.match(r.notice ?? '', detail)
    }
    t.notOk(existsSync(join(cacheDir, k)), 'the bad entry was removed')
    t.notOk(existsSync(target.pgdata), 'nothing was copied')
  })
}

t.test('pruneClusters keeps the N most recently used entries and removes stale leftovers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rotv-prune-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const keys = ['pg17-one', 'pg17-two', 'pg17-three']
  for (const [i, k] of keys.entries()) {
    await saveCluster({ cacheDir: dir, key: k, pgdata: source.pgdata })
    const when = new Date(Date.now() - (10 - i) * 60_000)
    await utimes(join(dir, k, 'manifest.json'), when, when)
  }
  // Restoring "one" makes it the most recently used.
  const target = await createDevDataDir({ user })
  t.teardown(() => rm(target.root, { recursive: true, force: true }))
  t.equal((await restoreCluster({ cacheDir: dir, key: 'pg17-one', pgdata: target.pgdata })).hit, true)
  const abandoned = join(dir, '.tmp-abandoned')
  await writeFile(join(dir, 'not-a-dir'), '')
  await (await import('node:fs/promises')).mkdir(abandoned)
  const old = new Date(Date.now() - 2 * 3600_000)
  await utimes(abandoned, old, old)
  const removed = await pruneClusters({ cacheDir: dir, keep: 2 })
  t.same(removed.sort(), ['.tmp-abandoned', 'pg17-two'])
  t.same((await listClusters(dir)).map((e) => e.key), ['pg17-one', 'pg17-three'])
})

t.test('cloneDatabaseFromTemplate resets data changed in the target, terminating its connections', async (t) => {
  const target = await createDevDataDir({ user })
  t.teardown(() => rm(target.root, { recursive: true, force: true }))
  t.equal((await restoreCluster({ cacheDir, key, pgdata: target.pgdata })).hit, true)
  const server = await startServer({ binaries, pgdata: target.pgdata, port: await freePort(), logFile: join(target.root, 'server.log') })
  t.teardown(() => server.stop('immediate'))
  // The pristine copy, made once after import + migrations.
  await cloneDatabaseFromTemplate(server.connection(), { template: 'rotv', target: 'rotv_pristine' })

  const pool = new pg.Pool({ ...server.connection('rotv'), max: 2 })
  pool.on('error', () => {})
  t.teardown(() => pool.end())
  await pool.query('DELETE FROM poi WHERE id > 100')
  await pool.query("UPDATE poi SET name = 'changed' WHERE id = 1")
  t.equal((await pool.query('SELECT count(*)::int AS n FROM poi')).rows[0].n, 100)
  // An app connection held open across the reset (a pooled client checked out and idle).
  const held = await pool.connect()
  let heldError: unknown
  held.on('error', (e) => (heldError = e))

  await cloneDatabaseFromTemplate(server.connection('rotv'), { template: 'rotv_pristine', target: 'rotv' })
  await t.rejects(held.query('SELECT 1'), 'the held connection was terminated by the reset')
  held.release(true)
  void heldError
  // The pool recovers by itself: a new connection to the fresh database.
  t.equal((await pool.query('SELECT count(*)::int AS n FROM poi')).rows[0].n, 50_000)
  t.equal((await pool.query('SELECT name FROM poi WHERE id = 1')).rows[0].name, 'poi 1')
  t.equal(await scalar(server.connection(), "SELECT count(*)::int FROM pg_database WHERE datname LIKE '%rotv_clone%'"), 0, 'no scratch database left')
  // A scratch copy left by an interrupted reset does not get in the way.
  await cloneDatabaseFromTemplate(server.connection(), { template: 'rotv_pristine', target: 'rotv__rotv_clone' })
  await pool.query('DELETE FROM poi')
  await cloneDatabaseFromTemplate(server.connection(), { template: 'rotv_pristine', target: 'rotv' })
  t.equal((await pool.query('SELECT count(*)::int AS n FROM poi')).rows[0].n, 50_000)
  // The template itself is untouched and can reset again.
  t.equal(await scalar(server.connection('rotv_pristine'), 'SELECT count(*)::int FROM poi'), 50_000)
})

t.test('staged save: the entry is written while the server runs again, from the stage and the untouched template', async (t) => {
  // What a cold start does: pristine copy, no connections to it, stop, stage, start again, save later.
  const { built, server: running, app, pristine } = await withPristine(t, true)
  let server = running
  await t.rejects(stageCluster({ pgdata: built.pgdata, stageDir: join(built.root, 'stage'), stable: `base/${pristine}`, aliases: [`base/${app}`] }), ClusterNotStoppedError, 'a running cluster cannot be staged')
  await server.stop('fast')
  const staged = await stageCluster({ pgdata: built.pgdata, stageDir: join(built.root, 'stage'), stable: `base/${pristine}`, aliases: [`base/${app}`] })
  t.same((await readdir(join(staged.stageDir, 'base'))).includes(String(app)), false, 'the big database directories are not staged')
  server = await startServer({ binaries, pgdata: built.pgdata, port: server.port, logFile: join(built.root, 'server.log') })
  // The app changes its database while the entry is written: the entry must not see it.
  await exec(server.connection('rotv'), "UPDATE poi SET name = 'changed after staging' WHERE id <= 10; CHECKPOINT")
  const k = `${key}-staged`
  const saved = await saveStagedCluster(staged, { cacheDir, key: k })
  t.ok(saved.bytes > 20 * 1024 ** 2, `restores ${saved.bytes} bytes (the app database and its template)`)
  const entryBase = await readdir(join(cacheDir, k, 'pgdata', 'base'))
  t.ok(entryBase.includes(String(pristine)) && !entryBase.includes(String(app)), 'the app database is stored once, as an alias of the template')
  t.equal((await verifyClusterEntry(cacheDir, k)).ok, true)

  const target = await createDevDataDir({ user })
  t.teardown(() => rm(target.root, { recursive: true, force: true }))
  t.equal((await restoreCluster({ cacheDir, key: k, pgdata: target.pgdata })).hit, true)
  const heapOf = async (oid: number) => stat(join(target.pgdata, 'base', String(oid), (await readdir(join(target.pgdata, 'base', String(oid)))).find((n) => /^\d+$/.test(n))!))
  t.not((await heapOf(app)).ino, (await heapOf(pristine)).ino, 'the alias is restored as a copy, not a link')
  const warm = await startServer({ binaries, pgdata: target.pgdata, port: await freePort(), logFile: join(target.root, 'server.log') })
  t.teardown(() => warm.stop('immediate'))
  t.equal(await scalar(warm.connection('rotv'), "SELECT count(*)::int FROM poi WHERE name = 'poi 1'"), 1, 'the app database as imported, not as changed later')
  await exec(warm.connection('rotv'), 'DELETE FROM poi')
  await cloneDatabaseFromTemplate(warm.connection(), { template: 'rotv_pristine', target: 'rotv' })
  t.equal(await scalar(warm.connection('rotv'), 'SELECT count(*)::int FROM poi'), 50_000, 'reset from the restored template works')
  await t.rejects(scalar(warm.connection('rotv_pristine'), 'SELECT 1'), /not currently accepting connections/, 'the template refuses connections')

  // deferTemplates: the cluster starts without the template, which appears whole afterwards
  const deferred = await createDevDataDir({ user })
  t.teardown(() => rm(deferred.root, { recursive: true, force: true }))
  const r = await restoreCluster({ cacheDir, key: k, pgdata: deferred.pgdata, deferTemplates: true })
  t.ok(r.hit && r.templatesRestored, 'a deferred template copy is under way')
  t.notOk(existsSync(join(deferred.pgdata, 'base', String(pristine))), 'the template is not there yet')
  t.ok(existsSync(join(deferred.pgdata, 'base', String(app))), 'the app database is')
  const early = await startServer({ binaries, pgdata: deferred.pgdata, port: await freePort(), logFile: join(deferred.root, 'server.log') })
  t.teardown(() => early.stop('immediate'))
  t.equal(await scalar(early.connection('rotv'), 'SELECT count(*)::int FROM poi'), 50_000, 'the server runs on the app database meanwhile')
  if (r.hit) await r.templatesRestored
  t.same((await readdir(deferred.root)).filter((n) => n.includes('.template-')), [], 'no copy left aside')
  await exec(early.connection('rotv'), 'DELETE FROM poi')
  await cloneDatabaseFromTemplate(early.connection(), { template: 'rotv_pristine', target: 'rotv' })
  t.equal(await scalar(early.connection('rotv'), 'SELECT count(*)::int FROM poi'), 50_000, 'once in place, the template resets')
})

t.test('staged save: a change to the template directory is caught, not cached', async (t) => {
  // here connections to the template stay allowed, so the test can write into it
  const { built, server: running, app, pristine } = await withPristine(t, false)
  let server = running
  await server.stop('fast')
  const staged = await stageCluster({ pgdata: built.pgdata, stageDir: join(built.root, 'stage'), stable: `base/${pristine}`, aliases: [`base/${app}`] })
  server = await startServer({ binaries, pgdata: built.pgdata, port: server.port, logFile: join(built.root, 'server.log') })
  // Someone writes into the template (here it still accepts connections, as nothing forbade them).
  await exec(server.connection('rotv_pristine'), 'DELETE FROM poi WHERE id < 1000; CHECKPOINT')
  const k = `${key}-changed`
  await t.rejects(saveStagedCluster(staged, { cacheDir, key: k }), StableDirChangedError)
  t.notOk(existsSync(join(cacheDir, k)), 'no entry')
  t.same((await readdir(cacheDir)).filter((n) => n.startsWith('.tmp-')), [], 'no temp dir left')
})

interface Built { root: string; pgdata: string }

/** A running cluster with a pristine copy of rotv, as a cold start makes it; the OIDs name their directories. */
async function withPristine(t: Test, forbid: boolean): Promise<{ built: Built; server: RunningServer; app: number; pristine: number }> {
  const built = await buildCluster(binaries, user)
  t.teardown(() => rm(built.root, { recursive: true, force: true }))
  await stopServer({ pgdata: built.pgdata })
  const server = await startServer({ binaries, pgdata: built.pgdata, port: await freePort(), logFile: join(built.root, 'server.log') })
  t.teardown(() => stopServer({ pgdata: built.pgdata, mode: 'immediate' }))
  await cloneDatabaseFromTemplate(server.connection(), { template: 'rotv', target: 'rotv_pristine' })
  if (forbid) await forbidConnections(server.connection(), 'rotv_pristine')
  const oids = await databaseOids(server.connection(), ['rotv', 'rotv_pristine'])
  return { built, server, app: oids.get('rotv')!, pristine: oids.get('rotv_pristine')! }
}

/** A running cluster with rotv/rotv_test and a table of 50 000 rows (~10+ MB with an index). */
async function buildCluster(b: PgBinaries, u: ServerUser | undefined): Promise<Built> {
  const dir = await createDevDataDir({ user: u })
  await initCluster({ binaries: b, pgdata: dir.pgdata })
  const server = await startServer({ binaries: b, pgdata: dir.pgdata, port: await freePort(), logFile: join(dir.root, 'server.log') })
  await createDatabases(server.connection(), ['rotv', 'rotv_test'])
  const c = new pg.Client(server.connection('rotv'))
  await c.connect()
  await c.query(`CREATE TABLE poi (id int PRIMARY KEY, name text NOT NULL, body text);
    INSERT INTO poi SELECT g, 'poi ' || g, repeat(md5(g::text), 4) FROM generate_series(1, 50000) g;`)
  await c.end()
  return { root: dir.root, pgdata: dir.pgdata }
}



async function largestFile(dir: string): Promise<string> {
  let best = { path: '', size: -1 }
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue
    const p = join(e.parentPath ?? e.path, e.name)
    const s = (await stat(p)).size
    if (s > best.size) best = { path: p, size: s }
  }
  return best.path
}
