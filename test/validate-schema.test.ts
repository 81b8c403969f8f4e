// validate-schema end to end through the CLI: the demo snapshot matches the migrations; hand-made
// changes on a loopback "production" (PostgreSQL 15 loaded with the demo dump, pulled through the url
// source) are reported with the object, both definitions and a non-zero exit; a pending migration is
// told apart from drift; and the throwaway server is gone afterwards.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadDemoDump } from './helpers/app-server.ts'
import { isolatedEnv, repo, runCliSync, taskfile, tsx } from './helpers/cli.ts'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import { generateDemoDump } from '../lib/demo/generate.ts'

interface Env {
  env: NodeJS.ProcessEnv
  home: string
  envFile: string
}

function environment(t: { teardown: (fn: () => void) => void }, extra: NodeJS.ProcessEnv = {}): Env {
  const home = mkdtempSync(join(tmpdir(), 'rotv-test-vs-'))
  const envFile = join(home, 'test.env')
  writeFileSync(envFile, '')
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  return { env: isolatedEnv({ ROTV_HOME: home, ...extra }), home, envFile }
}

const cli = (e: Env, args: string[], extra: NodeJS.ProcessEnv = {}) => runCliSync([...args, '--dotenv', e.envFile], { ...e.env, ...extra })

interface Difference {
  kind: string
  table?: string
  name: string
  change: string
  production: { definition: string } | null
  migrations: { definition: string } | null
  fields?: string[]
}

interface Validation {
  ok: boolean
  drift: Difference[]
  pending: Difference[]
  migrations: { applied: { id: string }[]; pending: string[]; missingFromRepository: { id: string }[]; tablePresent: boolean }
  pendingFailure?: { message: string }
}

function resultOf(stdout: string): Validation {
  const report = JSON.parse(stdout) as { tasks: { name: string; result: Validation }[] }
  return report.tasks.find((x) => x.name === 'validate-schema')!.result
}

const keyOf = (d: Difference) => `${d.kind} ${d.table ? `${d.table}.` : ''}${d.name} ${d.change}`

async function production(t: { teardown: (fn: () => Promise<void>) => void }, db: string, opts: Parameters<typeof loadDemoDump>[2] = {}): Promise<TestPostgres> {
  const pg = await startProductionPostgres({ databases: [db] })
  t.teardown(() => pg.stop())
  await loadDemoDump(pg, db, opts)
  return pg
}

t.test('the demo snapshot matches the migrations', async (t) => {
  const e = environment(t)
  const seed = cli(e, ['seed', 'demo'])
  t.equal(seed.code, 0, seed.all)
  const json = cli(e, ['validate-schema', 'demo', '--json'])
  t.equal(json.code, 0, json.stderr)
  const v = resultOf(json.stdout)
  t.equal(v.ok, true)
  t.same(v.drift, [])
  t.same(v.pending, [])
  t.same(v.migrations.applied.map((m) => m.id), ['001_initial', '002_job_logs', '003_destinations_view'])
  t.same(v.migrations.pending, [])
  const plain = cli(e, ['validate-schema', 'demo'])
  t.equal(plain.code, 0, plain.all)
  t.match(plain.stdout, /no differences: the demo data's schema is what the migrations make/)
  t.notMatch(plain.stdout, /on production|production's|production has|production lacks/, 'the bundled demo data is never called production')
  t.match(plain.stdout, /migrations: 3 applied on the demo data, 0 pending/)

  const missing = cli(e, ['validate-schema', 'nosuch'])
  t.equal(missing.code, 1)
  t.match(missing.stdout, /no snapshot named "nosuch"/)
  t.match(missing.stdout, /fix: the snapshots there are: demo; to pull it from a source: npx tsx Taskfile\.ts seed SOURCE --as nosuch/)
})

t.test('hand-made changes on production are drift: object, both definitions, non-zero exit', async (t) => {
  const pg = await production(t, 'rotv')
  await pg.psql('rotv', ['-c', `
    ALTER TABLE public.pois ADD COLUMN rating integer DEFAULT 0 NOT NULL;
    ALTER TABLE public.news ALTER COLUMN title TYPE character varying(200);
    DROP INDEX public.news_published_at_idx;
    CREATE TABLE public.audit_notes (id serial PRIMARY KEY, note text NOT NULL);
  `])
  const e = environment(t, { PRODUCTION_DATABASE_URL: pg.url('rotv') })
  const seed = cli(e, ['seed'])
  t.equal(seed.code, 0, seed.all)
  t.match(seed.stdout, /snapshot "production"/)

  // The readable report, and the exit status CI relies on.
  const plain = cli(e, ['validate-schema', 'production'])
  t.equal(plain.code, 1, 'drift exits non-zero')
  const out = plain.stdout
  t.match(out, /failed: task validate-schema: snapshot "production": 8 schema differences the migrations do not explain/)
  t.match(out, /table public\.pois\n\s+-\s+column rating: production has `integer NOT NULL DEFAULT 0`; no migration makes it/)
  t.match(out, /table public\.news\n\s+-\s+column title \(type differs\): production has `character varying\(200\) NOT NULL`; the migrations make `text NOT NULL`/)
  t.match(out, /index news_published_at_idx: production lacks it; the migrations make `CREATE INDEX news_published_at_idx ON public\.news USING btree \(published_at DESC\)`/)
  t.match(out, /table public\.audit_notes: production has `TABLE`; no migration makes it/)
  t.match(out, /fix: write a migration/)

  // The same, structured, for CI (--warn-only so the task returns its data; exit 0).
  const json = cli(e, ['validate-schema', 'production', '--json', '--warn-only'])
  t.equal(json.code, 0, json.stderr)
  const v = resultOf(json.stdout)
  t.equal(v.ok, false)
  t.same(v.pending, [])
  t.same(v.migrations.pending, [])
  t.same(v.drift.map(keyOf).sort(), [
    'column public.audit_notes.id only-in-production',
    'column public.audit_notes.note only-in-production',
    'column public.news.title differs',
    'column public.pois.rating only-in-production',
    'constraint public.audit_notes.audit_notes_pkey only-in-production',
    'index public.news.news_published_at_idx only-in-migrations',
    'sequence public.audit_notes_id_seq only-in-production',
    'table public.audit_notes only-in-production',
  ])
  const title = v.drift.find((d) => d.name === 'title')!
  t.same(title.fields, ['type'])
  t.equal(title.production?.definition, 'character varying(200) NOT NULL')
  t.equal(title.migrations?.definition, 'text NOT NULL')
  t.match(v.drift.find((d) => d.name === 'rating'), { production: { definition: 'integer NOT NULL DEFAULT 0', attributes: { type: 'integer', nullable: false, default: '0' } }, migrations: null })
  t.match(v.drift.find((d) => d.name === 'news_published_at_idx'), { production: null, migrations: { definition: 'CREATE INDEX news_published_at_idx ON public.news USING btree (published_at DESC)' } })
  t.match(json.stderr, /warning: validate-schema: snapshot "production": 8 schema differences/)

  // Without --warn-only, --json still says why it failed, one line per difference.
  const failed = cli(e, ['validate-schema', 'production', '--json'])
  t.equal(failed.code, 1)
  const report = JSON.parse(failed.stdout) as { ok: boolean; failed: string; tasks: { name: string; error: { type: string; details: string[] } | null }[] }
  t.equal(report.ok, false)
  t.equal(report.failed, 'validate-schema')
  const error = report.tasks.find((x) => x.name === 'validate-schema')!.error!
  t.equal(error.type, 'SchemaDriftError')
  t.ok(error.details.some((l) => l.includes('column rating: production has `integer NOT NULL DEFAULT 0`')), 'details carry the report')
})

t.test('a pending migration is reported as pending, not drift, and exits 0', async (t) => {
  const e = environment(t)
  const dump = join(e.home, 'older.sql')
  const chunks: Buffer[] = []
  for await (const c of generateDemoDump({ omitNewestMigrations: 1 })) chunks.push(c as Buffer)
  writeFileSync(dump, Buffer.concat(chunks))
  const seed = cli(e, ['seed', '--from-file', dump, '--as', 'older'])
  t.equal(seed.code, 0, seed.all)

  const json = cli(e, ['validate-schema', 'older', '--json'])
  t.equal(json.code, 0, json.stderr)
  const v = resultOf(json.stdout)
  t.equal(v.ok, true)
  t.same(v.drift, [])
  t.same(v.migrations.pending, ['003_destinations_view'])
  t.same(v.migrations.applied.map((m) => m.id), ['001_initial', '002_job_logs'])
  t.same(v.pending.map(keyOf).sort(), ['index public.pois.pois_destination_name_idx only-in-migrations', 'view public.destination_summary only-in-migrations'])

  const plain = cli(e, ['validate-schema', 'older'])
  t.equal(plain.code, 0, plain.all)
  t.match(plain.stdout, /migrations: 2 applied on production, 1 pending \(003_destinations_view\)/)
  t.match(plain.stdout, /PENDING: 2 differences the pending migrations \(003_destinations_view\) will remove:/)
  t.match(plain.stdout, /view public\.destination_summary: production lacks it/)
  t.match(plain.stdout, /snapshot "older" matches the migrations once the 1 pending migration is applied/)
})

t.test('pending and drift in one snapshot are told apart; a migration production lacks the file of fails', async (t) => {
  const pg = await production(t, 'rotv', { omitNewestMigrations: 1 })
  await pg.psql('rotv', ['-c', `
    ALTER TABLE public.users ALTER COLUMN name DROP NOT NULL;
    INSERT INTO public.schema_migrations (id, checksum) VALUES ('002a_hotfix', 'deadbeef');
    UPDATE public.schema_migrations SET checksum = 'c0ffee' WHERE id = '001_initial';
  `])
  const e = environment(t, { PRODUCTION_DATABASE_URL: pg.url('rotv') })
  t.equal(cli(e, ['seed']).code, 0)
  const json = cli(e, ['validate-schema', '--json', '--warn-only'])
  t.equal(json.code, 0, json.stderr)
  const v = resultOf(json.stdout)
  t.equal(v.ok, false)
  t.same(v.drift.map(keyOf), ['column public.users.name differs'])
  t.match(v.drift[0], { fields: ['nullable'], production: { definition: 'text' }, migrations: { definition: 'text NOT NULL' } })
  t.same(v.pending.map(keyOf).sort(), ['index public.pois.pois_destination_name_idx only-in-migrations', 'view public.destination_summary only-in-migrations'])
  t.same(v.migrations.missingFromRepository.map((m) => m.id), ['002a_hotfix'])
  t.same(v.migrations.pending, ['003_destinations_view'])
  t.match(v.migrations, { changedSinceApplied: [{ id: '001_initial', productionChecksum: 'c0ffee' }] })

  const plain = cli(e, ['validate-schema'])
  t.equal(plain.code, 1)
  t.match(plain.stdout, /1 applied on production but missing from the repository \(002a_hotfix\)/)
  t.match(plain.stdout, /DRIFT: 1 difference between production \(with the pending migrations applied\) and the migrations/)
  t.match(plain.stdout, /column name \(nullable differs\): production has `text`; the migrations make `text NOT NULL`/)
  t.match(plain.stdout, /001_initial changed after production applied it \(production sha256 c0ffee…/)
  t.match(plain.stdout, /warning: validate-schema: 001_initial changed after production applied it/)
})

t.test('a pending migration that fails on production\'s schema is drift', async (t) => {
  // Someone made 003's index by hand: the deploy of 003 would fail on it.
  const pg = await production(t, 'rotv', { omitNewestMigrations: 1 })
  await pg.psql('rotv', ['-c', 'CREATE INDEX pois_destination_name_idx ON public.pois (name) WHERE is_destination'])
  const e = environment(t, { PRODUCTION_DATABASE_URL: pg.url('rotv') })
  t.equal(cli(e, ['seed']).code, 0)
  const plain = cli(e, ['validate-schema'])
  t.equal(plain.code, 1)
  t.match(plain.stdout, /failed: task validate-schema: snapshot "production": 1 schema difference the migrations do not explain, and a pending migration fails on it/)
  t.match(plain.stdout, /a pending migration fails on production's schema: migration 003_destinations_view\.sql.*failed: relation "pois_destination_name_idx" already exists/)
  const v = resultOf(cli(e, ['validate-schema', '--json', '--warn-only']).stdout)
  t.equal(v.ok, false)
  t.match(v.pendingFailure, { message: /003_destinations_view/ })
  t.same(v.drift.map(keyOf), ['view public.destination_summary only-in-migrations'])
})

t.test('Ctrl-C stops the throwaway PostgreSQL and removes its directory', async (t) => {
  const e = environment(t)
  // Big enough that importing its data (--with-data) is still going on when the interrupt arrives.
  const dump = join(e.home, 'big.sql')
  const chunks: Buffer[] = []
  for await (const c of generateDemoDump({ size: 64 * 1024 * 1024 })) chunks.push(c as Buffer)
  writeFileSync(dump, Buffer.concat(chunks))
  t.equal(cli(e, ['seed', '--from-file', dump, '--as', 'big']).code, 0)

  const child = spawn(tsx, [taskfile, 'validate-schema', 'big', '--with-data', '--dotenv', e.envFile], { cwd: repo, env: e.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const scratchDir = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /throwaway PostgreSQL on port \d+ in (\S+) /.exec(out)
      if (m) resolve(m[1]!)
    })
    child.on('close', () => reject(new Error(`exited before the throwaway server started:\n${out}`)))
  })
  t.ok(existsSync(scratchDir), `the throwaway cluster is in ${scratchDir}`)
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  child.kill('SIGINT')
  t.equal(await exited, 130, out)
  t.match(out, /interrupted: task validate-schema was stopped and cleaned up/)
  t.notOk(existsSync(scratchDir), 'its directory is gone')
})
