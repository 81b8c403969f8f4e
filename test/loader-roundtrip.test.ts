// Round trip on a real PostgreSQL 15: rich database -> pg_dump -> loadDump into a fresh database ->
// pg_dump again: the two dumps must be identical (but for pg_dump's random \restrict key).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib'
import t from 'tap'
import { loadDump, openDumpFile, type LoadProgress } from '../lib/loader/index.ts'
import { startProductionPostgres } from './helpers/production-postgres.ts'
import { comparableDump, createDatabase, createRichDatabase, pgDump } from './fixtures/dumps/loader-fixture.ts'

const EVENTS = 200_000

t.test('loadDump reproduces a rich pg_dump exactly', async (t) => {
  const pg = await startProductionPostgres()
  const dir = await mkdtemp(join(tmpdir(), 'rotv-loader-'))
  t.teardown(async () => {
    await pg.stop()
    await rm(dir, { recursive: true, force: true })
  })
  await createRichDatabase(pg, 'prod', EVENTS)
  const source = join(dir, 'prod.sql')
  await pgDump(pg, 'prod', source)
  const expected = await comparableDump(source)
  t.ok(/^\\restrict /m.test(await readFile(source, 'utf8')), 'this pg_dump writes \\restrict (15.14+), so the loader meets it')

  await t.test('into a fresh database', async (t) => {
    await createDatabase(pg, 'copy1')
    const progress: LoadProgress[] = []
    const result = await loadDump({
      connection: { connectionString: pg.url('copy1') },
      input: openDumpFile(source),
      parallel: 3,
      // the workers' path (a file this small would load on one connection by default)
      smallDumpBytes: 0,
      onProgress: (p) => progress.push(p),
      progressIntervalMs: 0,
    })
    t.same(
      result.rows,
      {
        'app.users': 4,
        'app.posts': 3,
        'app."Mixed Case; Table"': 3,
        'app.events': EVENTS,
        'app.measurements_2023': 2655,
        'app.measurements_2024': 2345,
        'app.base': 1,
        'app.derived': 1,
      },
      'rows per table from the COPY results',
    )
    t.equal(result.tables, 8)
    t.match(result.serverVersion, /^15\./)
    t.match(result.dumpedFrom, /^15\./)
    t.equal(result.bytes, (await readFile(source)).length)
    t.same(result.warnings, [])
    const last = progress[progress.length - 1]!
    t.match(last, { phase: 'done', tablesDone: 8, tablesSeen: 8, rows: EVENTS + 5012, bytesRead: result.bytes })
    t.ok(progress.some((p) => p.phase === 'data') && progress.some((p) => p.phase === 'post-data'), 'progress went through the phases')

    const again = join(dir, 'copy1.sql')
    await pgDump(pg, 'copy1', again)
    t.equal(await comparableDump(again), expected, 'schema and data identical')
    const { stdout } = await pg.psql('copy1', ['-At', '-c', "SELECT app.slugify('A b;C'), (SELECT n FROM app.post_counts WHERE author_id = 1), nextval('app.ticket_seq')"])
    t.equal(stdout.trim(), 'a-b-c|1|5007', 'functions, refreshed materialized view and sequence state work')
    const lo = await pg.psql('copy1', ['-At', '-c', 'SELECT encode(lo_get(424242), \'escape\')'])
    t.equal(lo.stdout, 'hello;\n\n', 'large object written inside BEGIN/COMMIT on the main connection')
  })

  await t.test('twice into the same database (--clean makes it idempotent)', async (t) => {
    await createDatabase(pg, 'twice')
    for (let i = 0; i < 2; i++) {
      const result = await loadDump({ connection: { connectionString: pg.url('twice') }, input: openDumpFile(source) })
      t.equal(result.rows['app.events'], EVENTS, `load ${i + 1}`)
      // pg_dump --clean's known harmless error on partitions, which psql would print and pass over
      if (i === 0) {
        t.same(result.warnings, [], 'first load: no warnings')
      } else {
        const harmless = /skipped ALTER TABLE IF EXISTS ONLY app.measurements_202\d DROP CONSTRAINT .*cannot drop inherited constraint/
        t.equal(result.warnings.length, 2, 'second load: one warning per partition')
        t.match(result.warnings, [harmless, harmless])
      }
    }
    const again = join(dir, 'twice.sql')
    await pgDump(pg, 'twice', again)
    t.equal(await comparableDump(again), expected)
  })

  await t.test('gzip and brotli compressed dumps load the same', async (t) => {
    const plain = await readFile(source)
    const files = { gz: gzipSync(plain), br: brotliCompressSync(plain, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } }) }
    for (const [ext, bytes] of Object.entries(files)) {
      const file = join(dir, `prod.sql.${ext}`)
      await writeFile(file, bytes)
      const db = `from_${ext}`
      await createDatabase(pg, db)
      const opened = openDumpFile(file)
      t.equal(opened.compression, ext === 'gz' ? 'gzip' : 'brotli')
      let lastProgress: LoadProgress | undefined
      const result = await loadDump({ connection: { connectionString: pg.url(db) }, input: opened, onProgress: (p) => (lastProgress = p), progressIntervalMs: 0 })
      t.equal(result.bytes, plain.length, `${ext}: all plain bytes read`)
      t.match(lastProgress, { compressedBytesRead: bytes.length, compressedBytesTotal: bytes.length }, `${ext}: compressed progress`)
      const again = join(dir, `${db}.sql`)
      await pgDump(pg, db, again)
      t.equal(await comparableDump(again), expected, `${ext}: identical`)
    }
  })

  await t.test('a plain Readable in 1-byte-to-64-KiB pieces loads the same', async (t) => {
    const plain = await readFile(source)
    await createDatabase(pg, 'pieces')
    let seed = 3
    const pieces = function* () {
      for (let i = 0; i < plain.length; ) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        const n = seed % 3 === 0 ? 1 + (seed % 7) : 1 + (seed % 65536)
        yield plain.subarray(i, i + n)
        i += n
      }
    }
    const result = await loadDump({ connection: { connectionString: pg.url('pieces') }, input: Readable.from(pieces()), parallel: 2 })
    t.equal(result.rows['app.events'], EVENTS)
    const again = join(dir, 'pieces.sql')
    await pgDump(pg, 'pieces', again)
    t.equal(await comparableDump(again), expected)
  })
})

t.test('the hand-written tricky dump loads: dollar bodies, COPY escapes, meta-commands', async (t) => {
  const pg = await startProductionPostgres({ databases: ['tricky'] })
  t.teardown(() => pg.stop())
  const file = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures/dumps/tricky.sql')
  const result = await loadDump({ connection: { connectionString: pg.url('tricky') }, input: openDumpFile(file) })
  t.same(result.rows, { 'public.t': 4 })
  t.equal(result.dumpedBy, '17.6')
  t.match(result.warnings, [/line 11: skipped SET transaction_timeout = 0;.*unrecognized configuration parameter/], 'a PostgreSQL 17 setting is skipped on 15, as psql would')
  const { stdout } = await pg.psql('tricky', ['-At', '-F', '|', '-c', 'SELECT id, "semi;colon", note, "semi;colon" IS NULL FROM public.t ORDER BY id'])
  t.equal(stdout, "1|a\tb|line\nbreak|f\n2|\\.|back\\slash|f\n3||Zoë 日本語 🐘|t\n4|;|'quoted' \"dq\" $$ -- /*|f\n")
  const f = await pg.psql('tricky', ['-At', '-c', 'SELECT public.f(7)'])
  t.equal(f.stdout, " ; $$ not the end $$ ; 7;'--/*\n")
})

t.test('session state (SET ...) reaches the workers as of each statement', async (t) => {
  const pg = await startProductionPostgres({ databases: ['session'] })
  t.teardown(() => pg.stop())
  // unqualified names: only right if each worker replays search_path as it was when the statement came
  const dump = [
    'CREATE SCHEMA s1;',
    'CREATE SCHEMA s2;',
    'CREATE TABLE s1.t (a integer);',
    'CREATE TABLE s2.t (a integer);',
    'SET search_path = s1;',
    'COPY t (a) FROM stdin;',
    '1',
    '\\.',
    'SET search_path = s2;',
    'COPY t (a) FROM stdin;',
    '2',
    '3',
    '\\.',
    'SET search_path = s1;',
    'CREATE INDEX i1 ON t USING btree (a);',
    'SET search_path = s2;',
    'CREATE INDEX i2 ON t USING btree (a);',
    'ALTER TABLE ONLY t ADD CONSTRAINT t_pkey PRIMARY KEY (a);',
    'SET search_path = s1;',
    'ALTER TABLE ONLY t ADD CONSTRAINT t_pkey PRIMARY KEY (a);',
    '-- PostgreSQL database dump complete',
    '',
  ].join('\n')
  const result = await loadDump({ connection: { connectionString: pg.url('session') }, input: Readable.from([Buffer.from(dump)]), parallel: 3 })
  t.same(result.rows, { t: 3 }, 'both COPY blocks name the table "t"')
  const { stdout } = await pg.psql('session', [
    '-At',
    '-c',
    "SELECT (SELECT count(*) FROM s1.t), (SELECT count(*) FROM s2.t), (SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 's1.t'::regclass), (SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 's2.t'::regclass)",
  ])
  t.equal(stdout.trim(), '1|2|s1.i1,s1.t_pkey|s2.i2,s2.t_pkey')
})

t.test("a dump's own transaction keeps everything inside it on one connection, COPY included", async (t) => {
  const pg = await startProductionPostgres({ databases: ['txn'] })
  t.teardown(() => pg.stop())
  const dump = [
    'BEGIN;',
    'CREATE TABLE public.t (a integer PRIMARY KEY);',
    'COPY public.t (a) FROM stdin;',
    '1',
    '2',
    '\\.',
    'CREATE INDEX t_a_idx ON public.t USING btree (a);',
    'COMMIT;',
    '-- PostgreSQL database dump complete',
    '',
  ].join('\n')
  // a worker could not see the uncommitted table: this only works if the COPY stays on the main connection
  const result = await loadDump({ connection: { connectionString: pg.url('txn') }, input: Readable.from([Buffer.from(dump)]), parallel: 2 })
  t.same(result.rows, { 'public.t': 2 })
  const { stdout } = await pg.psql('txn', ['-At', '-c', "SELECT count(*), to_regclass('public.t_a_idx') IS NOT NULL FROM public.t"])
  t.equal(stdout.trim(), '2|t')
})

t.test('a small dump file loads on one connection by default (as psql does); a big one opens the workers', async (t) => {
  const pg = await startProductionPostgres({ databases: ['small', 'big', 'hinted'] })
  const dir = await mkdtemp(join(tmpdir(), 'rotv-loader-small-'))
  t.teardown(async () => {
    await pg.stop()
    await rm(dir, { recursive: true, force: true })
  })
  const file = join(dir, 'small.sql')
  await writeFile(file, 'CREATE TABLE public.t (a integer PRIMARY KEY);\nCOPY public.t (a) FROM stdin;\n1\n2\n\\.\n-- PostgreSQL database dump complete\n')
  const small = await loadDump({ connection: { connectionString: pg.url('small') }, input: openDumpFile(file), parallel: 2 })
  t.same([small.connections, small.rows], [1, { 'public.t': 2 }], 'one connection, the rows loaded')
  const hinted = await loadDump({ connection: { connectionString: pg.url('hinted') }, input: openDumpFile(file), parallel: 2, sizeHint: 1 << 30 })
  t.same([hinted.connections, hinted.rows], [3, { 'public.t': 2 }], 'a size over the threshold: main + 2 workers')
  const stream = await loadDump({ connection: { connectionString: pg.url('big') }, input: Readable.from([await readFile(file)]), parallel: 2 })
  t.equal(stream.connections, 3, 'size unknown (a stream): the workers, as before')
})
