// The snapshot store against real pg_dump output (PostgreSQL 15 fixture) read through the `file` source:
// verified pulls, manifests, corruption, truncation, staleness, legacy adoption, concurrency, locking.
import t from 'tap'
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile, open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { PassThrough } from 'node:stream'
import { join } from 'node:path'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import {
  ageOf,
  CorruptSnapshotError,
  EmptyDumpError,
  ensureFresh,
  isStale,
  exportSnapshot,
  openStore,
  SnapshotBusyError,
  SnapshotNotFoundError,
  InvalidSnapshotNameError,
  SnapshotWriteError,
  TruncatedDumpError,
} from '../lib/snapshots/index.ts'
import { DumpFileNotFoundError, type SnapshotSource, type SourceCompletion } from '../lib/sources/index.ts'
import { caught, dirFingerprint } from './helpers/snapshot-checks.ts'

const run = promisify(execFile)

let pg: TestPostgres
let work: string
let dumpV1: string
let dumpV2: string
/** Row counts as the database reported them when dumpV1 was taken. */
let countsV1: Record<string, number>

t.before(async () => {
  pg = await startProductionPostgres({ databases: ['rotv'] })
  work = await mkdtemp(join(tmpdir(), 'rotv-snapstore-'))
  await pg.psql('rotv', ['-c', `
    CREATE TABLE pois (id serial PRIMARY KEY, name text NOT NULL, notes text);
    CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE, bio text);
    CREATE TABLE empty_table (id int);
    INSERT INTO pois (name, notes) SELECT 'poi ' || g, CASE WHEN g % 3 = 0 THEN E'line one\\nline two\\t\\\\. tricky' END FROM generate_series(1, 5000) g;
    INSERT INTO users (email, bio) SELECT 'u' || g || '@example.org', repeat('valley ', g % 40) FROM generate_series(1, 1234) g;
  `])
  dumpV1 = join(work, 'v1.sql')
  await pgDump(dumpV1)
  const { stdout } = await pg.psql('rotv', ['-At', '-F', ' ', '-c',
    `SELECT 'public.pois', count(*) FROM pois UNION ALL SELECT 'public.users', count(*) FROM users UNION ALL SELECT 'public.empty_table', count(*) FROM empty_table`])
  countsV1 = Object.fromEntries(stdout.trim().split('\n').map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]))
  await pg.psql('rotv', ['-c', `INSERT INTO users (email) SELECT 'late' || g || '@example.org' FROM generate_series(1, 100) g`])
  dumpV2 = join(work, 'v2.sql')
  await pgDump(dumpV2)
})

t.teardown(async () => {
  await pg?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

async function pgDump(out: string): Promise<void> {
  await run('bash', ['-c', `set -o pipefail; pg_dump --clean --if-exists --no-owner --no-acl -h 127.0.0.1 -p ${pg.port} -U postgres rotv > ${out}`])
}

async function newHome(label: string): Promise<string> {
  return mkdtemp(join(work, `${label}-`))
}

/** name -> sha256 of every file in the snapshot directory: "byte-for-byte intact" means this is equal. */

async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex')
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}


t.test('a .sql file becomes a verified, compressed snapshot with a correct manifest', async (t) => {
  const store = openStore(await newHome('plain'))
  const progress: number[] = []
  const m = await store.pull({ name: 'production', kind: 'file', file: dumpV1 }, { onProgress: (p) => progress.push(p.bytes) })
  t.same(m.tables, countsV1, 'row counts match the database')
  t.equal(m.tables['public.pois'], 5000)
  t.equal(m.tables['public.users'], 1234)
  t.equal(m.tables['public.empty_table'], 0)
  t.equal(m.totalRows, 6234)
  t.match(m.serverVersion, /^15\.\d+/)
  t.match(m.pgDumpVersion, /^15\.\d+/)
  t.equal(m.source.kind, 'file')
  t.equal(m.compression, 'zstd')
  t.equal(m.anonymized, false)
  t.equal(m.uncompressedBytes, (await stat(dumpV1)).size)
  t.ok(m.compressedBytes < m.uncompressedBytes / 3, `compressed ${m.compressedBytes} of ${m.uncompressedBytes}`)
  const dataPath = join(store.pathOf('production'), m.dataFile)
  t.equal(m.sha256, await sha256File(dataPath))
  t.equal(m.dataFile, `${m.sha256}.sql.zst`)
  t.equal((await stat(dataPath)).size, m.compressedBytes)
  t.ok(progress.length >= 1 && progress.at(-1) === m.uncompressedBytes, 'progress reported up to the full size')
  t.same((await store.list()).map((s) => s.name), ['production'])
  t.same((await readdir(store.pathOf('production'))).sort(), [m.dataFile, 'manifest.json'].sort(), 'no temp or lock file left')

  const opened = await store.openForImport('production')
  t.equal(opened.manifest.sha256, m.sha256)
  t.ok((await readAll(opened.stream)).equals(await readFile(dumpV1)), 'import stream is the original dump, byte for byte')
  t.equal((await store.verify('production')).sha256, m.sha256)
})

t.test('.sql.gz, .sql.br and .sql.zst files give the same snapshot as the plain file', async (t) => {
  const store = openStore(await newHome('gz'))
  const plain = await store.pull({ name: 'a', kind: 'file', file: dumpV1 })
  await writeFile(join(work, 'v1.sql.gz'), zlib.gzipSync(await readFile(dumpV1)))
  await writeFile(join(work, 'v1.sql.br'), zlib.brotliCompressSync(await readFile(dumpV1)))
  // zstd is recognised by its magic bytes, not its name
  await run('bash', ['-c', `zstd -q -19 -c ${dumpV1} > ${join(work, 'v1-zstd.dump')}`])
  const gz = await store.pull({ name: 'b', kind: 'file', file: join(work, 'v1.sql.gz') })
  const br = await store.pull({ name: 'c', kind: 'file', file: join(work, 'v1.sql.br') })
  const zst = await store.pull({ name: 'd', kind: 'file', file: join(work, 'v1-zstd.dump') })
  for (const m of [gz, br, zst]) {
    t.equal(m.sha256, plain.sha256, `${m.name}: same stored bytes`)
    t.same(m.tables, plain.tables)
  }
  t.same((await store.list()).map((s) => s.name), ['a', 'b', 'c', 'd'])
})

t.test('a snapshot an earlier version stored as brotli stays readable: import, verify, export; the next pull stores zstd', async (t) => {
  const home = await newHome('brotli')
  const store = openStore(home)
  const dir = store.pathOf('production')
  await store.pull({ name: 'production', kind: 'file', file: dumpV1 })
  // Rewrite it as the previous version wrote it: <sha256>.sql.br (brotli q6, lgwin 24), manifest naming brotli.
  const zstdManifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))
  const c = zlib.constants
  const br = zlib.brotliCompressSync(await readFile(dumpV1), { params: { [c.BROTLI_PARAM_QUALITY]: 6, [c.BROTLI_PARAM_LGWIN]: 24, [c.BROTLI_PARAM_MODE]: c.BROTLI_MODE_TEXT } })
  const sha = createHash('sha256').update(br).digest('hex')
  await writeFile(join(dir, `${sha}.sql.br`), br, { mode: 0o600 })
  await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...zstdManifest, compression: 'brotli', dataFile: `${sha}.sql.br`, sha256: sha, compressedBytes: br.length }))
  await rm(join(dir, zstdManifest.dataFile))

  t.equal((await store.verify('production')).compression, 'brotli')
  const opened = await store.openForImport('production')
  t.ok((await readAll(opened.stream)).equals(await readFile(dumpV1)), 'the brotli snapshot imports as the original dump')
  const asStored = await exportSnapshot(store, 'production', { out: join(work, 'old.sql.br'), force: true })
  t.equal(asStored.bytes, br.length, '.sql.br export of a brotli snapshot is the stored file')
  const asZstd = await exportSnapshot(store, 'production', { out: join(work, 'old.sql.zst'), force: true })
  const { stdout } = await run('bash', ['-c', `zstd -q -d -c ${asZstd.path} | sha256sum`])
  t.equal(stdout.slice(0, 64), await sha256File(dumpV1), '.sql.zst export decodes to the dump')

  const next = await store.pull({ name: 'production', kind: 'file', file: dumpV2 })
  t.equal(next.compression, 'zstd')
  t.same((await readdir(dir)).sort(), [next.dataFile, 'manifest.json'].sort(), 'the old brotli file is collected after the commit')
})

t.test('truncated dumps are refused and the previous snapshot stays byte-for-byte intact', async (t) => {
  const store = openStore(await newHome('trunc'))
  await store.pull({ name: 'production', kind: 'file', file: dumpV1 })
  const dir = store.pathOf('production')
  const before = await dirFingerprint(dir)

  const half = join(work, 'half.sql')
  await writeFile(half, (await readFile(dumpV2)).subarray(0, Math.floor((await stat(dumpV2)).size / 2)))
  const err = await caught(store.pull({ name: 'production', kind: 'file', file: half }))
  t.type(err, TruncatedDumpError)
  t.match(err.message, /PostgreSQL database dump complete/)
  t.match((err as TruncatedDumpError).fix, /npx tsx Taskfile.ts seed production/)
  t.same(await dirFingerprint(dir), before, 'after truncated .sql')

  const halfGz = join(work, 'half.sql.gz')
  const gz = zlib.gzipSync(await readFile(dumpV2))
  await writeFile(halfGz, gz.subarray(0, Math.floor(gz.length / 2)))
  t.type(await caught(store.pull({ name: 'production', kind: 'file', file: halfGz })), TruncatedDumpError)
  t.same(await dirFingerprint(dir), before, 'after truncated .sql.gz')

  const empty = join(work, 'empty.sql')
  await writeFile(empty, '')
  t.type(await caught(store.pull({ name: 'production', kind: 'file', file: empty })), EmptyDumpError)
  t.type(await caught(store.pull({ name: 'production', kind: 'file', file: join(work, 'nope.sql') })), DumpFileNotFoundError)
  t.same(await dirFingerprint(dir), before, 'after empty and missing files')
  t.equal((await store.get('production'))?.tables['public.users'], 1234)
})

t.test('disk full mid-pull: typed error with the fix, previous snapshot intact, temp removed', async (t) => {
  const home = await newHome('full')
  await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', home])
  t.teardown(() => run('umount', [home]))
  const store = openStore(home)
  await store.pull({ name: 'production', kind: 'file', file: dumpV1 })
  const dir = store.pathOf('production')
  const before = await dirFingerprint(dir)
  // Random bytes do not compress: ~6 MB of them cannot fit in what is left of 2 MB.
  const big = join(work, 'incompressible.sql')
  await writeFile(big, `--\n-- PostgreSQL database dump\n--\n\nCOPY public.blobs (b) FROM stdin;\n${randomBytes(4_500_000).toString('base64').replace(/(.{76})/g, '$1\n')}\n\\.\n`)
  const err = await caught(store.pull({ name: 'production', kind: 'file', file: big }))
  t.type(err, SnapshotWriteError)
  t.match(err.message, /ENOSPC|no space/i)
  t.match((err as SnapshotWriteError).fix, /free disk space/)
  t.same(await dirFingerprint(dir), before, 'previous snapshot intact, temp removed')
  t.equal((await store.verify('production')).tables['public.users'], 1234)
})

t.test('a corrupted stored file is detected before any import starts', async (t) => {
  const store = openStore(await newHome('corrupt'))
  const m = await store.pull({ name: 'production', kind: 'file', file: dumpV1 })
  const dataPath = join(store.pathOf('production'), m.dataFile)
  const fh = await open(dataPath, 'r+')
  const one = Buffer.alloc(1)
  await fh.read(one, 0, 1, 1000)
  one[0] = one[0]! ^ 0xff
  await fh.write(one, 0, 1, 1000)
  await fh.close()

  const err = await caught(store.openForImport('production'))
  t.type(err, CorruptSnapshotError)
  t.match(err.message, /sha256/)
  t.match((err as CorruptSnapshotError).fix, /npx tsx Taskfile.ts seed production/)
  t.type(await caught(store.verify('production')), CorruptSnapshotError)

  await truncate(dataPath, 100)
  t.match((await caught(store.verify('production'))).message, /100 bytes, manifest says/)

  await store.pull({ name: 'production', kind: 'file', file: dumpV1 })
  t.equal((await store.verify('production')).sha256, m.sha256, 'pulling again repairs it')
  t.type(await caught(store.openForImport('staging')), SnapshotNotFoundError)
})

t.test('a reader keeps reading the old version while a pull replaces it', async (t) => {
  const store = openStore(await newHome('concurrent'))
  const v1 = await store.pull({ name: 'production', kind: 'file', file: dumpV1 })
  const reader = await store.openForImport('production')
  const first = await new Promise<Buffer>((resolve) => reader.stream.once('data', resolve))
  reader.stream.pause()

  const v2 = await store.pull({ name: 'production', kind: 'file', file: dumpV2 })
  t.not(v2.sha256, v1.sha256)
  t.same((await readdir(store.pathOf('production'))).sort(), [v2.dataFile, 'manifest.json'].sort(), 'old data file collected')

  const rest = await readAll(reader.stream)
  t.ok(Buffer.concat([first, rest]).equals(await readFile(dumpV1)), 'the reader got the complete old dump')
  const fresh = await store.openForImport('production')
  t.equal(fresh.manifest.tables['public.users'], 1334)
  t.ok((await readAll(fresh.stream)).equals(await readFile(dumpV2)), 'a new reader gets the new dump')
})

t.test('a `seed` in another process replaces the snapshot while this one reads the old version', async (t) => {
  const home = await newHome('xproc')
  const store = openStore(home)
  const v1 = await store.pull({ name: 'production', kind: 'file', file: dumpV1 })
  const reader = await store.openForImport('production')
  const first = await new Promise<Buffer>((resolve) => reader.stream.once('data', resolve))
  reader.stream.pause()

  const script = join(work, 'seed-other-process.mts')
  const storeModule = new URL('../lib/snapshots/index.ts', import.meta.url).href
  await writeFile(script, `import { openStore } from ${JSON.stringify(storeModule)}
const m = await openStore(process.argv[2]).pull({ name: 'production', kind: 'file', file: process.argv[3] })
console.log(JSON.stringify({ pid: process.pid, sha256: m.sha256 }))
`)
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, home, dumpV2], { cwd: process.cwd() })
  const other = JSON.parse(stdout.trim()) as { pid: number; sha256: string }
  t.not(other.pid, process.pid)
  t.not(other.sha256, v1.sha256)
  t.equal((await store.get('production'))?.sha256, other.sha256, 'the other process committed its version')

  const rest = await readAll(reader.stream)
  t.ok(Buffer.concat([first, rest]).equals(await readFile(dumpV1)), 'this reader still got the complete old dump')
})

t.test('remove: gone from the store, while an open reader still reads it to the end', async (t) => {
  const store = openStore(await newHome('remove'))
  await store.pull({ name: 'production', kind: 'file', file: dumpV1 })
  await store.pull({ name: 'staging', kind: 'file', file: dumpV2 })
  const reader = await store.openForImport('production')
  const early = await store.openForImport('staging')
  await early.close() // an import that gives up early releases the file without an error
  t.equal(await store.remove('production'), true)
  t.equal(await store.remove('production'), false, 'removing twice is a no-op')
  t.equal(await store.get('production'), undefined)
  t.same((await store.list()).map((s) => s.name), ['staging'])
  t.type(await caught(store.verify('production')), SnapshotNotFoundError)
  t.ok((await readAll(reader.stream)).equals(await readFile(dumpV1)), 'the reader got the whole dump')
})

t.test('snapshot names cannot escape the store', async (t) => {
  const store = openStore(await newHome('names'))
  for (const bad of ['../etc', 'a/b', '', '.hidden', 'UPPER']) {
    t.type(await caught(store.pull({ name: bad, kind: 'file', file: dumpV1 })), InvalidSnapshotNameError, JSON.stringify(bad))
  }
  t.type(await caught(store.get('../x')), InvalidSnapshotNameError)
})

t.test('two pulls into one name: the second is refused; a dead owner\'s lock is taken over', async (t) => {
  const store = openStore(await newHome('lock'))
  // A source whose stream this test feeds by hand, so the first pull is provably mid-stream.
  const feed = new PassThrough()
  const gated: SnapshotSource = {
    spec: { name: 'production', kind: 'file' },
    describe: () => 'hand-fed dump',
    open: async () => ({
      stream: feed,
      format: 'plain',
      meta: { kind: 'file', host: 'test', description: 'hand-fed dump' },
      done: new Promise<SourceCompletion>((resolve) => feed.once('end', () => resolve({ ok: true, exitCodes: {}, signals: {}, stderr: '' }))),
    }),
  }
  const whole = await readFile(dumpV1)
  let fed = false
  const a = store.pull(gated, { onProgress: () => void (fed = true) })
  feed.write(whole.subarray(0, 1000))
  while (!fed) await new Promise((r) => setTimeout(r, 10))
  const err = await caught(store.pull({ name: 'production', kind: 'file', file: dumpV2 }))
  t.type(err, SnapshotBusyError)
  t.match(err.message, new RegExp(`pid ${process.pid}`))
  feed.end(whole.subarray(1000))
  t.equal((await a).tables['public.users'], 1234)

  // A lock left by a process that no longer exists.
  const dead = await run('bash', ['-c', 'sh -c "echo \\$\\$" '])
  await writeFile(join(store.pathOf('production'), '.pull.lock'), JSON.stringify({ pid: Number(dead.stdout.trim()), host: (await import('node:os')).hostname(), startedAt: new Date(Date.now() - 60_000).toISOString() }))
  const m = await store.pull({ name: 'production', kind: 'file', file: dumpV2 })
  t.equal(m.tables['public.users'], 1334)
})

t.test('staleness: a back-dated snapshot warns with its age and the refresh command', async (t) => {
  const store = openStore(await newHome('stale'))
  await store.pull({ name: 'production', kind: 'file', file: dumpV1 })
  const dir = store.pathOf('production')
  for (const f of await readdir(dir)) await run('touch', ['-d', '10 days ago', join(dir, f)])

  const m = (await store.get('production'))!
  t.equal(Math.round(ageOf(m).days), 10)
  t.ok(isStale(m, 7))
  t.notOk(isStale(m, 11))

  const warned = await ensureFresh({ store, name: 'production', maxAgeDays: 7, refreshStale: false })
  t.equal(warned.action, 'stale')
  t.equal(warned.notices.length, 1)
  t.equal(warned.notices[0]!.level, 'warn')
  t.match(warned.notices[0]!.message, /10 days old/)
  t.match(warned.notices[0]!.message, /npx tsx Taskfile\.ts seed production/)
  t.equal(warned.notices[0]!.command, 'npx tsx Taskfile.ts seed production')

  const refreshed = await ensureFresh({ store, name: 'production', maxAgeDays: 7, refreshStale: true, source: { name: 'production', kind: 'file', file: dumpV2 } })
  t.equal(refreshed.action, 'refreshed')
  t.equal(refreshed.manifest.tables['public.users'], 1334)
  t.notOk(isStale((await store.get('production'))!, 7))

  const kept = await ensureFresh({ store, name: 'production', maxAgeDays: 7 })
  t.equal(kept.action, 'kept')
  t.same(kept.notices, [])
})

t.test('the original setup\'s seed-data.sql is adopted with its age, not ignored', async (t) => {
  const home = await newHome('legacy')
  const legacy = join(home, 'seed-data.sql')
  await writeFile(legacy, await readFile(dumpV1))
  const threeDaysAgo = new Date(Date.now() - 3 * 24 * 3600_000)
  await utimes(legacy, threeDaysAgo, threeDaysAgo)
  const store = openStore(home)

  const r = await ensureFresh({ store, name: 'production', maxAgeDays: 7 })
  t.equal(r.action, 'adopted-legacy')
  t.equal(r.manifest.tables['public.pois'], 5000)
  t.equal(Math.round(ageOf(r.manifest).days), 3)
  t.match(r.notices[0]!.message, /adopted the old .*seed-data\.sql as snapshot "production"/)
  t.notOk(await stat(legacy).then(() => true, () => false), 'seed-data.sql moved aside so it is adopted once')
  t.ok((await readFile(`${legacy}.adopted`)).equals(await readFile(dumpV1)), 'original bytes kept')

  // An incomplete legacy dump is reported and not adopted.
  const home2 = await newHome('legacy-bad')
  await writeFile(join(home2, 'seed-data.sql'), (await readFile(dumpV1)).subarray(0, 5000))
  const store2 = openStore(home2)
  const r2 = await ensureFresh({ store: store2, name: 'production', maxAgeDays: 7, source: { name: 'production', kind: 'file', file: dumpV2 } })
  t.equal(r2.action, 'pulled')
  t.match(r2.notices[0]!.message, /could not be adopted/)
  t.equal(r2.manifest.tables['public.users'], 1334)
})

t.test('a missing snapshot with no source configured is pulled from the demo generator, and says so', async (t) => {
  const store = openStore(await newHome('demo'))
  const r = await ensureFresh({ store, name: 'staging', maxAgeDays: 7 })
  t.equal(r.action, 'pulled')
  t.equal(r.manifest.source.kind, 'demo')
  t.match(r.notices.map((n) => n.message).join('\n'), /no source is configured for "staging": using generated demo data/)
  t.ok(r.manifest.totalRows > 0)
  t.ok(Object.keys(r.manifest.tables).length > 0)
  t.match(r.manifest.pgDumpVersion, /^\d+\.\d+/)
  const opened = await store.openForImport('staging')
  const dump = await readAll(opened.stream)
  t.equal(dump.length, r.manifest.uncompressedBytes)
  // The storage target: no larger at rest than `gzip -6` of the same dump.
  const gzip6 = zlib.gzipSync(dump, { level: 6 }).length
  t.ok(r.manifest.compressedBytes <= gzip6, `stored ${r.manifest.compressedBytes} bytes <= gzip -6 ${gzip6} bytes`)
  const v1gzip6 = zlib.gzipSync(await readFile(dumpV1), { level: 6 }).length
  const v1 = await store.pull({ name: 'v1', kind: 'file', file: dumpV1 })
  t.ok(v1.compressedBytes <= v1gzip6, `pg_dump output: stored ${v1.compressedBytes} bytes <= gzip -6 ${v1gzip6} bytes`)
})
