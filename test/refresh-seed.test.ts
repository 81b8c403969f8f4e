// `seed` refreshes incrementally by itself once a snapshot of the same source is in the store, says so,
// and reports the figures in --json; --full pulls everything. Real CLI, real PostgreSQL behind a URL.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startProductionPostgres, freePort, type TestPostgres } from './helpers/production-postgres.ts'
import { isolatedEnv, runCli } from './helpers/cli.ts'

let pg: TestPostgres
let home: string
let env: NodeJS.ProcessEnv
let envFile: string

t.before(async () => {
  pg = await startProductionPostgres({ databases: ['rotv'] })
  home = mkdtempSync(join(tmpdir(), 'rotv-refresh-seed-'))
  envFile = join(home, 'test.env')
  writeFileSync(envFile, `PRODUCTION_DATABASE_URL=${pg.url('rotv')}\n`)
  env = isolatedEnv({ ROTV_HOME: home, APP_PORT: String(await freePort()), PG_PORT: String(await freePort()), ROTV_DOTENV: envFile })
  await pg.psql('rotv', ['-c', `
    CREATE TABLE pois (id serial PRIMARY KEY, name text NOT NULL, notes text);
    INSERT INTO pois (name, notes) SELECT 'poi ' || g, repeat('n', 200) FROM generate_series(1, 20000) g;
    CREATE TABLE visits (at timestamptz, poi int);
    INSERT INTO visits SELECT now(), g FROM generate_series(1, 100) g;
  `])
})

t.teardown(async () => {
  await pg?.stop()
  if (home) rmSync(home, { recursive: true, force: true })
})

const seed = (...args: string[]) => runCli(['seed', '--json', '--dotenv', envFile, ...args], env)

t.test('first pull in full, then incremental after a change, --full on demand', async (t) => {
  const first = await seed()
  t.equal(first.code, 0, 'seed succeeds', { output: first.code === 0 ? '' : first.all })
  const data = (r: typeof first) => findData(r.stdout)
  t.equal(data(first).incremental, false)

  await pg.psql('rotv', ['-c', `UPDATE pois SET name = 'renamed' WHERE id = 77; DELETE FROM pois WHERE id = 5000; INSERT INTO pois (name) VALUES ('fresh'); INSERT INTO visits VALUES (now(), 1)`])
  const second = await seed()
  t.equal(second.code, 0, 'seed succeeds', { output: second.code === 0 ? '' : second.all })
  const d = data(second)
  t.match(second.all, /refreshing incrementally against snapshot "production"/)
  t.equal(d.incremental, true, 'incremental by itself')
  t.equal(d.tablesChanged, 2, 'pois by ranges, visits (no key) whole')
  t.ok(Number(d.chunksChanged) >= 1 && Number(d.chunksChanged) <= 3, `chunks ${d.chunksChanged}`)
  t.ok(Number(d.bytesReceived) < Number(data(first).bytesReceived) / 10, `${d.bytesReceived} bytes vs ${data(first).bytesReceived} for the full pull`)
  t.same((d.tables as Record<string, number>), { 'public.pois': 20000, 'public.visits': 101 })

  const full = await seed('--full', '--as', 'full-copy')
  t.equal(full.code, 0, 'seed succeeds', { output: full.code === 0 ? '' : full.all })
  t.equal(data(full).incremental, false)
  t.same(data(full).tables, d.tables, 'the same rows as a full pull')
})

/** The seed task's data object from --json output, wherever the CLI nests it. */
function findData(stdout: string): Record<string, unknown> {
  const parsed = JSON.parse(stdout.slice(stdout.indexOf('{')))
  const walk = (v: unknown): Record<string, unknown> | undefined => {
    if (!v || typeof v !== 'object') return undefined
    if ('incremental' in (v as object)) return v as Record<string, unknown>
    for (const x of Object.values(v as object)) {
      const hit = walk(x)
      if (hit) return hit
    }
    return undefined
  }
  return walk(parsed) ?? {}
}
