// The incremental refresh engine against a real PostgreSQL: "production" (database rotv) changes by about
// 1% (updates, inserts, deletes), a table without a key grows, a column is dropped, a table is added;
// the refresh compares it with the previous snapshot loaded into a local database and fetches only the
// key ranges that differ. Its result, stored like any pull, must load to exactly what a full pull made at
// the same moment loads to, from far fewer bytes, and production must be left without a trace.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import { startSshd, type TestSshd } from './helpers/sshd.ts'
import { execFileSync } from 'node:child_process'
import { openStore, type SnapshotStore } from '../lib/snapshots/index.ts'
import { incrementalSource, PSQL_SESSION_FLAGS, RefreshSessionError, type RefreshStats, type SessionCommand } from '../lib/refresh/index.ts'
import type { SourceSpec } from '../lib/sources/index.ts'
import { caught, dirFingerprint } from './helpers/snapshot-checks.ts'
import { CancelledError } from '../lib/errors.ts'

let pg: TestPostgres
let sshd: TestSshd
let work: string
let store: SnapshotStore

const ROWS = 40_000

t.before(async () => {
  ;[pg, sshd] = await Promise.all([startProductionPostgres({ databases: ['rotv', 'previous', 'inc', 'full'] }), startSshd()])
  work = await mkdtemp(join(tmpdir(), 'rotv-refresh-'))
  store = openStore(join(work, 'home'))
  await pg.psql('rotv', ['-c', `
    CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, price numeric(10,2), weight float8, seen timestamptz,
      active bool, tags text[], doc jsonb, blob bytea, note text);
    INSERT INTO items (name, price, weight, seen, active, tags, doc, blob, note)
      SELECT 'item ' || g, g * 1.25, g / 7.0, timestamptz '2026-01-01 00:00+00' + g * interval '1 minute', g % 3 = 0,
        ARRAY['t' || (g % 10), 'x'], jsonb_build_object('g', g, 's', repeat('z', g % 20)), decode(md5(g::text), 'hex'),
        CASE WHEN g % 5 = 0 THEN NULL ELSE E'line\\twith tab\\nand newline ' || g END
      FROM generate_series(1, ${ROWS}) g;
    CREATE TABLE orders (id serial PRIMARY KEY, item_id bigint NOT NULL REFERENCES items, qty int);
    INSERT INTO orders (item_id, qty) SELECT 1 + g % 1000, g FROM generate_series(1, 5000) g;
    CREATE TABLE audit_log (at timestamptz, msg text);
    INSERT INTO audit_log SELECT now(), 'event ' || g FROM generate_series(1, 2000) g;
    CREATE TABLE legacy (code int NOT NULL UNIQUE, a text, b text);
    INSERT INTO legacy SELECT g, 'a' || g, 'b' || g FROM generate_series(1, 500) g;
  `])
  // The previous snapshot, loaded where the refresh compares against it.
  await store.pull(urlSpec(), { as: 'production' })
  await load('production', 'previous')
})

t.teardown(async () => {
  await Promise.all([pg?.stop(), sshd?.stop()])
  if (work) await rm(work, { recursive: true, force: true })
})

t.test('a refresh after a 1% change equals a full pull, from a fraction of its bytes, and leaves production untouched', async (t) => {
  await pg.psql('rotv', ['-c', `
    SELECT setseed(0.25);
    UPDATE items SET price = price + 1, note = 'changed' WHERE id IN (SELECT (1 + random() * ${ROWS - 1})::bigint FROM generate_series(1, ${ROWS / 200}));
    DELETE FROM items WHERE id IN (SELECT (1001 + random() * ${ROWS - 1001})::bigint FROM generate_series(1, ${ROWS / 400}));
    INSERT INTO items (name, price) SELECT 'new ' || g, g FROM generate_series(1, ${ROWS / 400}) g;
    UPDATE orders SET qty = -qty WHERE id % 250 = 0;
    INSERT INTO audit_log SELECT now(), 'later ' || g FROM generate_series(1, 20) g;
    ALTER TABLE legacy DROP COLUMN b;
    CREATE TABLE added (id int PRIMARY KEY, v text);
    INSERT INTO added SELECT g, 'v' || g FROM generate_series(1, 10) g;
  `])
  const before = await productionTrace()
  let stats: RefreshStats | undefined
  const source = incrementalSource(urlSpec(), { local: localSession('previous'), onStats: (s) => (stats = s) })
  const inc = await store.pull(source, { as: "incremental" })
  const full = await store.pull(urlSpec(), { as: 'full' })
  t.same(await productionTrace(), before, 'production: same objects, no slot, publication, extension or setting')

  await load('incremental', 'inc')
  await load('full', 'full')
  t.same(await contents('inc'), await contents('full'), 'every table, column list and sequence equal to the full pull')
  t.same(inc.tables, full.tables, 'the manifest counts the same rows per table')
  t.ok(stats, 'the refresh reported its figures')
  const ratio = stats!.bytesReceived / full.uncompressedBytes
  t.comment(`bytes: incremental ${stats!.bytesReceived} vs full ${full.uncompressedBytes} (${(ratio * 100).toFixed(1)}%), tables changed ${stats!.tablesChanged}, chunks ${stats!.chunksChanged}`)
  t.ok(ratio < 0.1, `at most 10% of a full pull's bytes (${(ratio * 100).toFixed(1)}%)`)
  t.same(stats!.copiedWhole.map((c) => `${c.table}: ${c.reason}`).sort(), [
    'public.added: new table', 'public.audit_log: no integer key', 'public.legacy: definition changed',
  ])
  t.equal(stats!.tablesChanged, 5, 'items and orders by ranges, three copied whole')
})

t.test('through ssh, with nothing changed since: nothing fetched, the same content', async (t) => {
  // The local copy now holds the state of the last refresh.
  await pg.psql('previous', ['-c', 'DROP SCHEMA public CASCADE; CREATE SCHEMA public'])
  await load('incremental', 'previous')
  let stats: RefreshStats | undefined
  const spec: SourceSpec = { name: 'production', kind: 'ssh', host: '127.0.0.1', sshConfigFile: sshd.configFile, database: 'rotv', dbUser: 'postgres', dbHost: '127.0.0.1', dbPort: pg.port }
  const m = await store.pull(incrementalSource(spec, { local: localSession('previous'), onStats: (s) => (stats = s) }), { as: 'over-ssh' })
  t.same(m.tables, (await store.get('full'))!.tables)
  t.equal(stats!.chunksChanged, 0, 'no key range fetched')
  t.same(stats!.copiedWhole.map((c) => c.table), ['public.audit_log'], 'only the table without a key is copied')
  t.comment(`0% changed over ssh: ${stats!.bytesReceived} bytes vs ${(await store.get('full'))!.uncompressedBytes} for a full pull`)
})

t.test('a refresh interrupted half-way keeps the previous snapshot and leaves no process behind', async (t) => {
  const dir = store.pathOf('incremental')
  const before = await dirFingerprint(dir)
  const ac = new AbortController()
  const source = incrementalSource(urlSpec(), { local: localSession('previous') })
  const err = await caught(store.pull(source, { as: 'incremental', signal: ac.signal, onProgress: (p) => p.bytes > 0 && ac.abort() }))
  t.type(err, CancelledError)
  t.same(await dirFingerprint(dir), before, 'snapshot files byte for byte as before')
  const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.includes('psql') && l.includes(String(pg.port)) && l.includes('previous'))
  t.same(left, [], 'no psql left running')
})

t.test('a refresh whose local side fails stops with a clear error and keeps the previous snapshot', async (t) => {
  const kept = await store.get('incremental')
  const source = incrementalSource(urlSpec(), { local: localSession('no_such_db') })
  const err = await caught(store.pull(source, { as: 'incremental' }))
  t.type(err, RefreshSessionError)
  t.match(err.message, /no_such_db/)
  t.match((err as RefreshSessionError).fix, /seed --full/)
  t.same(await store.get('incremental'), kept, 'the previous snapshot is still the one')
})

function urlSpec(): SourceSpec {
  return { name: 'production', kind: 'url', url: pg.url('rotv') }
}

function localSession(db: string): SessionCommand {
  return { command: 'psql', args: [...PSQL_SESSION_FLAGS, '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db], description: `local psql ${db}` }
}

async function load(snapshot: string, db: string): Promise<void> {
  const file = join(work, `${snapshot}.sql`)
  const opened = await store.openForImport(snapshot)
  await pipeline(opened.stream, createWriteStream(file))
  await pg.psql(db, ['-f', file])
}

/** Per table: its columns and an order-free checksum of its rows; every sequence's position. */
async function contents(db: string): Promise<Record<string, string>> {
  const q = async (sql: string) => (await pg.psql(db, ['-At', '-F', '|', '-c', sql])).stdout.trim().split('\n').filter(Boolean)
  const out: Record<string, string> = {}
  for (const table of await q(`SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)) {
    const [sum] = await q(`SET TimeZone = 'UTC'; SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM ${table} t`)
    const cols = await q(`SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema || '.' || table_name = '${table}'`)
    out[table] = `${cols[0]} | ${sum}`
  }
  for (const seq of await q(`SELECT sequencename || '=' || coalesce(last_value::text, '-') FROM pg_sequences ORDER BY 1`)) out[`seq ${seq}`] = seq
  return out
}

/** What a refresh must not leave behind on production. */
async function productionTrace(): Promise<Record<string, string[]>> {
  const q = async (sql: string) => (await pg.psql('rotv', ['-At', '-c', sql])).stdout.trim().split('\n')
  return {
    relations: await q(`SELECT relname || ':' || relkind::text FROM pg_class WHERE relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) ORDER BY 1`),
    slots: await q('SELECT count(*) FROM pg_replication_slots'),
    publications: await q('SELECT count(*) FROM pg_publication'),
    extensions: await q('SELECT extname FROM pg_extension ORDER BY 1'),
    settings: await q('SELECT count(*) FROM pg_db_role_setting'),
    changed: await q(`SELECT name FROM pg_settings WHERE source NOT IN ('default', 'override', 'command line', 'environment variable', 'configuration file', 'client') ORDER BY 1`),
    tempSchemas: await q(`SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pg\\_temp\\_%'`),
  }
}
