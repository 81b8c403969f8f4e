// A big COPY block spread over several worker connections (splitCopyBytes): the same rows arrive, only
// their physical order may differ; a bad row in one of the parallel parts fails the load cleanly.
// The threshold is set to 64 KiB so a test-sized table is spread (the option is off by default).
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import t from 'tap'
import { DumpLoadError, loadDump, openDumpFile } from '../lib/loader/index.ts'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import { backendsOn, comparableDump, createDatabase, createRichDatabase, pgDump } from './fixtures/dumps/loader-fixture.ts'

const EVENTS = 100_000
const SPLIT = 64 * 1024

let pg: TestPostgres
let dir: string
let source: string

t.before(async () => {
  pg = await startProductionPostgres()
  dir = await mkdtemp(join(tmpdir(), 'rotv-loader-spread-'))
  await createRichDatabase(pg, 'prod', EVENTS)
  source = join(dir, 'prod.sql')
  await pgDump(pg, 'prod', source)
})
t.teardown(async () => {
  await pg?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

t.test('a spread COPY block loads the same rows; the dump is identical up to row order', async (t) => {
  await createDatabase(pg, 'spread')
  const result = await loadDump({ connection: { connectionString: pg.url('spread') }, input: openDumpFile(source), parallel: 3, splitCopyBytes: SPLIT, smallDumpBytes: 0 })
  t.equal(result.rows['app.events'], EVENTS, 'row count summed over the parts')
  const { stdout } = await pg.psql('spread', ['-At', '-c', 'SELECT count(DISTINCT xmin::text) FROM app.events'])
  // one transaction for the frozen head of the block, one per parallel part
  t.ok(Number(stdout.trim()) >= 3, `app.events was written by ${stdout.trim()} transactions: the block was spread`)
  const small = await pg.psql('spread', ['-At', '-c', 'SELECT count(DISTINCT xmin::text) FROM app.users'])
  t.equal(small.stdout.trim(), '1', 'a block under the threshold stays one COPY')
  const again = join(dir, 'spread.sql')
  await pgDump(pg, 'spread', again)
  // compared as digests: a failure's diff of megabytes of rows would take tap minutes to print
  const [loaded, original] = [await comparableDump(again), await comparableDump(source)]
  t.equal(sha256(sortCopyRows(loaded)), sha256(sortCopyRows(original)), 'schema and data identical, rows compared as sets')
  t.not(sha256(loaded), sha256(original), 'the physical row order did change (else this test proves nothing)')
})

t.test('a bad row in a parallel part fails the load, names the block, leaves no connection', async (t) => {
  await createDatabase(pg, 'spread_bad')
  const rows = Array.from({ length: 60_000 }, (_, i) => `${i + 1}\t${'x'.repeat(40)}\n`)
  rows[50_000] = 'not-a-number\tbroken\n'
  const dump = [
    'CREATE TABLE public.big (id integer NOT NULL, note text);',
    'COPY public.big (id, note) FROM stdin;',
    rows.join('') + '\\.',
    'ALTER TABLE ONLY public.big ADD CONSTRAINT big_pkey PRIMARY KEY (id);',
    '-- PostgreSQL database dump complete',
    '',
  ].join('\n')
  const chunks = Buffer.from(dump)
  const pieces = Array.from({ length: Math.ceil(chunks.length / 16384) }, (_, i) => chunks.subarray(i * 16384, (i + 1) * 16384))
  const err = await loadDump({ connection: { connectionString: pg.url('spread_bad') }, input: Readable.from(pieces), parallel: 2, splitCopyBytes: SPLIT }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.type(err, DumpLoadError)
  t.match((err as DumpLoadError).message, /COPY data rejected \(row \d+ of one of the parallel parts of the block started by COPY public\.big .* at line 2\)/)
  t.match((err as DumpLoadError).serverMessage, /invalid input syntax for type integer: "not-a-number"/)
  t.same(await backendsOn(pg, 'spread_bad'), [], 'no loader connection left open')
})

t.test('primary keys built as unique indexes and attached look exactly like ADD CONSTRAINT', async (t) => {
  // The rewrite is on by default; the rich dump's constraints (PK, UNIQUE, partitions, inheritance,
  // foreign keys onto them) must come out of pg_dump exactly as they went in.
  await createDatabase(pg, 'keys')
  await loadDump({ connection: { connectionString: pg.url('keys') }, input: openDumpFile(source), parallel: 3, smallDumpBytes: 0 })
  const again = join(dir, 'keys.sql')
  await pgDump(pg, 'keys', again)
  t.equal(await comparableDump(again), await comparableDump(source))
  const { stdout } = await pg.psql('keys', [
    '-At',
    '-c',
    `SELECT string_agg(c.conname || ':' || c.contype::text || ':' || c.conindid::regclass::text || ':' || i.indisprimary || ':' || d.deptype::text, ',' ORDER BY c.conname)
       FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid
       JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.conindid AND d.refclassid = 'pg_constraint'::regclass AND d.refobjid = c.oid
      WHERE c.conrelid = 'app.posts'::regclass AND c.contype IN ('p', 'u')`,
  ])
  // deptype i: the index belongs to its constraint (dropping the constraint drops it), as with ADD CONSTRAINT
  t.equal(stdout.trim(), 'posts_author_id_ticket_key:u:app.posts_author_id_ticket_key:false:i,posts_pkey:p:app.posts_pkey:true:i', 'each constraint owns its index')
})

t.test('a primary key the data violates fails with the statement as the dump wrote it, at its line', async (t) => {
  await createDatabase(pg, 'dup_key')
  const dump = [
    'CREATE TABLE public.t (id integer NOT NULL, note text);',
    'COPY public.t (id, note) FROM stdin;',
    '1\ta',
    '2\tb',
    '2\tc',
    '\\.',
    'CREATE INDEX t_note_idx ON public.t USING btree (note);',
    'ALTER TABLE ONLY public.t',
    '    ADD CONSTRAINT t_pkey PRIMARY KEY (id);',
    '-- PostgreSQL database dump complete',
    '',
  ].join('\n')
  const err = await loadDump({ connection: { connectionString: pg.url('dup_key') }, input: Readable.from([Buffer.from(dump)]), parallel: 2 }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.type(err, DumpLoadError)
  const e = err as DumpLoadError
  t.match(e.statement, /^ALTER TABLE ONLY public\.t\s+ADD CONSTRAINT t_pkey PRIMARY KEY \(id\);/, 'the dump\'s own statement, not the rewrite')
  t.equal(e.position?.line, 8)
  t.match(e.serverMessage, /could not create unique index "t_pkey"/)
  t.match(e.detail ?? '', /Key \(id\)=\(2\) is duplicated/)
  t.same(await backendsOn(pg, 'dup_key'), [], 'no loader connection left open')
})

/** The dump with the rows of every COPY block sorted, so two dumps compare as sets of rows. */
function sortCopyRows(text: string): string {
  const out: string[] = []
  let block: string[] | undefined
  for (const line of text.split('\n')) {
    if (block) {
      if (line === '\\.') {
        out.push(...block.sort(), line)
        block = undefined
      } else block.push(line)
    } else {
      out.push(line)
      if (/^COPY .* FROM stdin;$/.test(line)) block = []
    }
  }
  return out.join('\n')
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
