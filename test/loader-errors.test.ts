// What a user meets when a dump is broken, needs something the server lacks, or is cancelled; and that
// every failure leaves no loader connection behind.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import t, { type Test } from 'tap'
import { CancelledError } from '../lib/errors.ts'
import {
  DumpLoadCancelledError,
  DumpLoadError,
  MissingExtensionError,
  TruncatedDumpError,
  UnknownMetaCommandError,
  loadDump,
  openDumpFile,
  type LoadDumpOptions,
} from '../lib/loader/index.ts'
import { freePort, startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import { backendsOn, createDatabase, createRichDatabase, pgDump } from './fixtures/dumps/loader-fixture.ts'

let pg: TestPostgres
let dump: string
let dbCount = 0

t.before(async () => {
  pg = await startProductionPostgres()
  const dir = await mkdtemp(join(tmpdir(), 'rotv-loader-err-'))
  await createRichDatabase(pg, 'prod', 20_000)
  await pgDump(pg, 'prod', join(dir, 'prod.sql'))
  dump = await readFile(join(dir, 'prod.sql'), 'utf8')
  await rm(dir, { recursive: true, force: true })
})
t.teardown(() => pg?.stop())

/** Load `text` into a new database; return the rejection (fails the test if it resolves). */
async function loadFails(t: Test, text: string | Readable, extra: Partial<LoadDumpOptions> = {}): Promise<{ err: DumpLoadError; db: string }> {
  const db = `target${++dbCount}`
  await createDatabase(pg, db)
  const input = typeof text === 'string' ? Readable.from([Buffer.from(text)]) : text
  const err = await loadDump({ connection: { connectionString: pg.url(db) }, input, parallel: 2, ...extra }).then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(err instanceof Error)) throw new Error('the load succeeded but should have failed')
  t.same(await backendsOn(pg, db), [], 'no loader connection left open')
  return { err: err as DumpLoadError, db }
}

const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length
const byteOf = (text: string, needle: string) => Buffer.byteLength(text.slice(0, text.indexOf(needle)))

t.test('truncated in the middle of a COPY block', async (t) => {
  const cut = dump.indexOf('\n', dump.indexOf('COPY app.events') + 200_000)
  const { err } = await loadFails(t, dump.slice(0, cut))
  t.type(err, TruncatedDumpError)
  t.match(err.message, /ends inside the COPY data that starts at line \d+/)
  t.ok(err.fix)
})

t.test('truncated in the post-data, between statements: every statement succeeds, the trailer is missing', async (t) => {
  const fk = dump.indexOf('ADD CONSTRAINT posts_author_id_fkey')
  const cut = dump.indexOf(';\n', fk) + 2
  const { err } = await loadFails(t, dump.slice(0, cut))
  t.type(err, TruncatedDumpError)
  t.match(err.message, /no "PostgreSQL database dump complete" trailer/)
})

t.test('truncated in the middle of a post-data statement', async (t) => {
  const cut = dump.indexOf('ADD CONSTRAINT posts_author_id_fkey') + 20
  const { err } = await loadFails(t, dump.slice(0, cut))
  t.type(err, TruncatedDumpError)
  t.match(err.message, /statement without its terminating semicolon; the statement started at line \d+/)
})

t.test('a garbled statement names its line, offset and the server message', async (t) => {
  const anchor = 'CREATE TABLE app.posts'
  const text = dump.replace(anchor, `CREATE TABLEX oops (a int);\n${anchor}`)
  const { err } = await loadFails(t, text)
  t.type(err, DumpLoadError)
  t.match(err.position, { line: lineOf(text, 'CREATE TABLEX'), offset: byteOf(text, 'CREATE TABLEX') })
  t.match(err.serverMessage, /syntax error at or near "TABLEX"/)
  t.equal(err.code, '42601')
  t.match(err.message, new RegExp(`line ${lineOf(text, 'CREATE TABLEX')} .*syntax error[\\s\\S]*STATEMENT: CREATE TABLEX oops`))
})

t.test('a bad COPY row is reported at its own dump line', async (t) => {
  const row = '2\tbob@example.com'
  const text = dump.replace(row, '2x\tbob@example.com')
  const { err } = await loadFails(t, text)
  t.type(err, DumpLoadError)
  t.match(err.serverMessage, /invalid input syntax for type integer: "2x"/)
  t.equal(err.position?.line, lineOf(text, '2x\tbob@example.com'))
  t.match(err.message, /COPY data rejected \(row 2 of the block started by COPY app.users/)
})

t.test('a post-data statement failing on a worker (foreign key violated by the data)', async (t) => {
  // post 2 by author 2 -> author 99, which does not exist
  const copy = dump.indexOf('COPY app.posts')
  const row = dump.indexOf('\n2\t2\t', copy) + 1
  const text = `${dump.slice(0, row)}2\t99\t${dump.slice(row + 4)}`
  const { err } = await loadFails(t, text)
  t.type(err, DumpLoadError)
  t.equal(err.code, '23503')
  t.match(err.statement, /^ALTER TABLE ONLY app\.posts ADD CONSTRAINT posts_author_id_fkey FOREIGN KEY/)
  t.equal(err.position?.line, lineOf(text, 'ALTER TABLE ONLY app.posts\n    ADD CONSTRAINT posts_author_id_fkey'))
  t.match(err.detail, /\(author_id\)=\(99\)/)
})

t.test('an unknown psql meta-command is refused by name', async (t) => {
  const text = dump.replace('CREATE TABLE app.posts', '\\i /etc/passwd\nCREATE TABLE app.posts')
  const { err } = await loadFails(t, text)
  t.type(err, UnknownMetaCommandError)
  t.match(err.message, /unsupported psql meta-command \\i at line \d+/)
  t.equal(err.position?.line, lineOf(text, '\\i /etc/passwd'))
})

t.test('an extension the server lacks -> MissingExtensionError with the fix', async (t) => {
  const { stdout } = await pg.psql('postgres', ['-At', '-c', "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"])
  t.equal(stdout.trim(), '0', 'precondition: this PostgreSQL has no PostGIS')
  const text = dump.replace('CREATE SCHEMA app;', 'CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;\nCREATE SCHEMA app;')
  const { err } = await loadFails(t, text)
  t.type(err, MissingExtensionError)
  t.equal((err as MissingExtensionError).extension, 'postgis')
  t.match(err.message, /needs the PostgreSQL extension "postgis"/)
  t.match(err.serverMessage, /postgis/)
  t.match(err.fix, /PG_BIN_DIR/)
  t.match(err.fix, /RUNTIME=container \(its image has PostGIS\)/)
})

t.test('AbortSignal mid-COPY: rejects with a cancellation and leaves no connection', async (t) => {
  // the dump up to the middle of the big COPY, then an input that never ends (a stalled download)
  const head = dump.slice(0, dump.indexOf('\n', dump.indexOf('COPY app.events') + 100_000) + 1)
  const input = new Readable({ read() {} })
  input.push(head)
  const abort = new AbortController()
  const result = loadFails(t, input, {
    signal: abort.signal,
    progressIntervalMs: 0,
    onProgress: (p) => {
      if (p.bytesRead >= Buffer.byteLength(head) && p.phase === 'data') setTimeout(() => abort.abort(), 50)
    },
  })
  const { err } = await result
  t.type(err, DumpLoadCancelledError)
  t.type(err, CancelledError)
})

t.test('AbortSignal while the server runs a long statement cancels it', async (t) => {
  const text = dump.replace('CREATE TABLE app.posts', 'SELECT pg_sleep(3600);\nCREATE TABLE app.posts')
  const abort = new AbortController()
  const db = `target${dbCount + 1}`
  const watcher = (async () => {
    for (let i = 0; i < 600; i++) {
      const rows = await backendsOn(pg, db).catch(() => [])
      if (rows.some((r) => r.includes('pg_sleep(3600)'))) return abort.abort()
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  const { err } = await loadFails(t, text, { signal: abort.signal })
  await watcher
  t.type(err, DumpLoadCancelledError)
})

t.test('a compressed dump cut short or corrupted is refused, not loaded halfway silently', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rotv-loader-gz-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const gz = gzipSync(Buffer.from(dump))
  const cutFile = join(dir, 'cut.sql.gz')
  await writeFile(cutFile, gz.subarray(0, Math.floor(gz.length / 2)))
  const cut = await loadFails(t, '', { input: openDumpFile(cutFile) })
  t.type(cut.err, TruncatedDumpError)
  t.match(cut.err.message, /cannot decompress .*cut\.sql\.gz \(gzip\): unexpected end of file/)

  const bad = Buffer.from(gz)
  for (let i = 1000; i < 1100; i++) bad[i] = bad[i]! ^ 0x5a
  const badFile = join(dir, 'bad.sql.gz')
  await writeFile(badFile, bad)
  const corrupt = await loadFails(t, '', { input: openDumpFile(badFile) })
  t.type(corrupt.err, DumpLoadError)
  t.match(corrupt.err.message, /cannot decompress .*bad\.sql\.gz \(gzip\)|statement failed|COPY/)
})

t.test('an unreachable server and an already-aborted signal fail fast with typed errors', async (t) => {
  const closed = await freePort()
  const err = await loadDump({ connection: { host: '127.0.0.1', port: closed, user: 'postgres', database: 'x' }, input: Readable.from([Buffer.from(dump)]) }).catch((e) => e)
  t.type(err, DumpLoadError)
  t.match(err.message, /cannot connect to the target database: .*ECONNREFUSED/)
  t.match(err.fix, /server is running/)
  const abort = new AbortController()
  abort.abort()
  const cancelled = await loadDump({ connection: { connectionString: pg.url('postgres') }, input: Readable.from([Buffer.from(dump)]), signal: abort.signal }).catch((e) => e)
  t.type(cancelled, DumpLoadCancelledError)
})
