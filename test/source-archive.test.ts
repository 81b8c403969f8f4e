// A pg_dump archive handed over as a file (custom -Fc, tar -Ft): converted by a local pg_restore into
// the plain SQL the store keeps, and that loads as the plain dump does under psql; without a
// pg_restore it is named as what it is, not as an incomplete dump.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { loadDump } from '../lib/loader/index.ts'
import { openStore } from '../lib/snapshots/index.ts'
import { ArchiveFormatDumpError, fileSource } from '../lib/sources/index.ts'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import { adminQuery, catalogFingerprint, psqlLoad } from './helpers/psql-reference.ts'
import { caught } from './helpers/snapshot-checks.ts'

const run = promisify(execFile)
let pg: TestPostgres
let work: string
const dumps: Record<'plain' | 'custom' | 'tar', string> = { plain: '', custom: '', tar: '' }

t.before(async () => {
  pg = await startProductionPostgres({ databases: ['prod'] })
  work = await mkdtemp(join(tmpdir(), 'rotv-archive-'))
  await pg.psql('prod', [
    '-c',
    `CREATE TABLE public.users (id integer PRIMARY KEY, name text);
     CREATE TABLE public.posts (id integer PRIMARY KEY, user_id integer REFERENCES public.users, body text);
     CREATE INDEX posts_user ON public.posts (user_id);
     COMMENT ON TABLE public.posts IS 'Zoë''s posts';
     INSERT INTO public.users SELECT g, 'user ' || g FROM generate_series(1, 300) g;
     INSERT INTO public.posts SELECT g, 1 + g % 300, repeat('x', g % 50) FROM generate_series(1, 1000) g;`,
  ])
  for (const [format, flag] of [['plain', '-Fp'], ['custom', '-Fc'], ['tar', '-Ft']] as const) {
    dumps[format] = join(work, `prod.${format}`)
    await run(join(pg.binDir, 'pg_dump'), [flag, '--clean', '--if-exists', '--no-owner', '--no-acl', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-f', dumps[format], 'prod'])
  }
})
t.teardown(async () => {
  await pg?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

for (const format of ['custom', 'tar'] as const) {
  t.test(`a ${format}-format archive is converted by pg_restore and loads as the plain dump does with psql`, async (t) => {
    const store = openStore(join(work, `home-${format}`))
    const m = await store.pull({ name: 'production', kind: 'file', file: dumps[format] })
    t.same(m.tables, { 'public.users': 300, 'public.posts': 1000 })
    await adminQuery(pg, `CREATE DATABASE viapsql_${format}`)
    await adminQuery(pg, `CREATE DATABASE loaded_${format}`)
    t.same((await psqlLoad(pg, `viapsql_${format}`, dumps.plain)).errors, [])
    const opened = await store.openForImport('production')
    await loadDump({ connection: { connectionString: pg.url(`loaded_${format}`) }, input: opened.stream })
    await opened.close()
    const expected = await catalogFingerprint(pg.url(`viapsql_${format}`))
    t.ok(expected.includes('comment table posts = Zoë\'s posts'))
    t.same(await catalogFingerprint(pg.url(`loaded_${format}`)), expected, 'same catalogs and rows')
  })
}

t.test('without a pg_restore an archive is named, with the fix, and the previous snapshot stays', async (t) => {
  const store = openStore(join(work, 'home-none'))
  await store.pull({ name: 'production', kind: 'file', file: dumps.plain })
  const before = (await store.get('production'))?.sha256
  const err = await caught(store.pull(fileSource({ name: 'production', kind: 'file', file: dumps.custom }, { findPgRestore: () => undefined })))
  t.type(err, ArchiveFormatDumpError)
  t.match((err as Error).message, /is a custom-format pg_dump archive \(pg_dump -Fc\), not a plain-SQL dump/)
  t.match((err as ArchiveFormatDumpError).fix, /PG_BIN_DIR.*pg_restore --clean --if-exists --no-owner --no-acl -f dump\.sql/)
  t.equal((await store.get('production'))?.sha256, before, 'the good snapshot is kept')
})
