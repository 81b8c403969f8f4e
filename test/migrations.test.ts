import t from 'tap'
import { createHash } from 'node:crypto'
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { applyMigrations, listMigrations, MigrationError, migrationsDigest, pendingMigrations } from '../lib/migrations.ts'
import { loadDemoDump, MIGRATIONS_DIR } from './helpers/app-server.ts'
import { startProductionPostgres } from './helpers/production-postgres.ts'

const dbs = ['empty', 'snapshot', 'changed', 'broken', 'race']

t.test('migrations against a real PostgreSQL', async (t) => {
  const server = await startProductionPostgres({ databases: dbs })
  t.teardown(() => server.stop())
  const scratch = await mkdtemp(join(tmpdir(), 'rotv-migrations-'))
  t.teardown(() => rm(scratch, { recursive: true, force: true }))
  const all = await listMigrations(MIGRATIONS_DIR)
  const ids = all.map((m) => m.id)

  t.test('lists the files in number order with their sha256', async (t) => {
    t.ok(all.length >= 3)
    t.same(ids, [...ids].sort())
    t.equal(all[0]!.id, '001_initial')
    t.equal(all[0]!.version, 1)
    t.equal(all[0]!.name, 'initial')
    const bytes = await readFile(all[0]!.path)
    t.equal(all[0]!.sha256, createHash('sha256').update(bytes).digest('hex'))
  })

  t.test('the digest is stable and changes when a migration changes', async (t) => {
    const dir = join(scratch, 'digest')
    await cp(MIGRATIONS_DIR, dir, { recursive: true })
    const before = await migrationsDigest(dir)
    t.equal(before, await migrationsDigest(MIGRATIONS_DIR))
    t.match(before, /^[0-9a-f]{64}$/)
    await writeFile(join(dir, '999_more.sql'), 'SELECT 1;\n')
    const added = await migrationsDigest(dir)
    t.not(added, before)
    await appendFile(join(dir, '001_initial.sql'), '-- edited\n')
    t.not(await migrationsDigest(dir), added)
  })

  t.test('applies every migration to an empty database, then re-applying is a no-op', async (t) => {
    t.same((await pendingMigrations(server.url('empty'), MIGRATIONS_DIR)).map((m) => m.id), ids)
    const first = await applyMigrations(server.url('empty'), MIGRATIONS_DIR)
    t.same(first, { applied: ids, skipped: [], warnings: [] })
    const again = await applyMigrations(server.url('empty'), MIGRATIONS_DIR)
    t.same(again, { applied: [], skipped: ids, warnings: [] })
    t.same(await pendingMigrations(server.url('empty'), MIGRATIONS_DIR), [])
    const { stdout } = await server.psql('empty', ['-At', '-c', 'SELECT id || \' \' || checksum FROM public.schema_migrations ORDER BY id'])
    t.same(stdout.trim().split('\n'), all.map((m) => `${m.id} ${m.sha256}`))
    const tables = await server.psql('empty', ['-At', '-c', "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'"])
    t.equal(tables.stdout.trim(), 'destination_summary,events,job_logs,news,pois,schema_migrations,session,users')
  })

  t.test('an older snapshot gets just the newer migration', async (t) => {
    await loadDemoDump(server, 'snapshot', { omitNewestMigrations: 1 })
    const pending = await pendingMigrations(server.url('snapshot'), MIGRATIONS_DIR)
    t.same(pending.map((m) => m.id), [ids.at(-1)])
    const applied: string[] = []
    const result = await applyMigrations(server.url('snapshot'), MIGRATIONS_DIR, { onApplied: (m) => applied.push(m.id) })
    t.same(result.applied, [ids.at(-1)])
    t.same(result.skipped, ids.slice(0, -1))
    t.same(result.warnings, [])
    t.same(applied, [ids.at(-1)])
    // The snapshot's data survived and the new view works on it.
    const { stdout } = await server.psql('snapshot', ['-At', '-c', 'SELECT count(*) FROM public.destination_summary'])
    t.equal(stdout.trim(), '178')
  })

  t.test('a changed, already-applied migration is reported, not re-run; a caller-owned client stays open', async (t) => {
    const dir = join(scratch, 'changed')
    await cp(MIGRATIONS_DIR, dir, { recursive: true })
    const client = new pg.Client({ connectionString: server.url('changed') })
    await client.connect()
    t.teardown(() => client.end())
    await applyMigrations(client, dir)
    await appendFile(join(dir, '001_initial.sql'), '\nCREATE TABLE public.would_fail_if_rerun (x int);\n')
    const result = await applyMigrations(client, dir)
    t.same(result.applied, [])
    t.equal(result.warnings.length, 1)
    t.match(result.warnings[0], /001_initial\.sql changed after it was applied/)
    const { rows } = await client.query("SELECT to_regclass('public.would_fail_if_rerun') AS t")
    t.equal(rows[0].t, null, 'the edited migration did not run again')
  })

  t.test('a failing migration names the file and the server message, and is rolled back', async (t) => {
    const dir = join(scratch, 'broken')
    await cp(MIGRATIONS_DIR, dir, { recursive: true })
    await writeFile(join(dir, '900_broken.sql'), 'CREATE TABLE public.half_done (x int);\n\nSELECT no_such_column FROM public.pois;\n')
    const err = await applyMigrations(server.url('broken'), dir).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof MigrationError, 'typed error')
    const e = err as MigrationError
    t.match(e.message, /900_broken\.sql \(line 3\) failed: column "no_such_column" does not exist/)
    t.match(e.fix, /900_broken\.sql/)
    const { stdout } = await server.psql('broken', ['-At', '-c', "SELECT to_regclass('public.half_done') IS NULL, (SELECT count(*) FROM public.schema_migrations), (SELECT count(*) FROM public.schema_migrations WHERE id = '900_broken')"])
    t.equal(stdout.trim(), `t|${ids.length}|0`, 'earlier migrations stay applied, the broken one left nothing behind')
  })

  t.test('two migrators at once: the advisory lock lets exactly one apply each migration', async (t) => {
    const [a, b] = await Promise.all([applyMigrations(server.url('race'), MIGRATIONS_DIR), applyMigrations(server.url('race'), MIGRATIONS_DIR)])
    t.same([...a.applied, ...b.applied].sort(), ids)
    t.same([...a.skipped, ...b.skipped].sort(), ids)
  })

  t.test('an unreachable server is a typed error with a fix', async (t) => {
    const err = await applyMigrations({ host: '127.0.0.1', port: 1, user: 'postgres', database: 'x', connectionTimeoutMillis: 2000 }, MIGRATIONS_DIR).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof MigrationError)
    t.match((err as MigrationError).message, /cannot connect to PostgreSQL/)
    t.ok((err as MigrationError).fix)
  })

  t.test('a missing directory is a typed error', async (t) => {
    await t.rejects(listMigrations(join(scratch, 'nope')), MigrationError)
  })
})
