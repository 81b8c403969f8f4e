// start --db-only on a dump that is not the reference app's but has tables named like its own: the
// data must equal a psql -f load of the same dump, with no app migration applied and no app started.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { isolatedEnv, runCliSync } from './helpers/cli.ts'
import { freePort } from './helpers/production-postgres.ts'

const dump = join(import.meta.dirname, 'fixtures', 'dumps', 'not-our-app.sql')
const checksums = `SELECT c.relname AS t, (xpath('/row/s/text()', query_to_xml(format('SELECT md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY x::text), '''')) AS s FROM %I.%I x', n.nspname, c.relname), false, false, '')))[1]::text AS s
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1`

t.test('start --db-only loads a foreign dump exactly as psql -f, prints its URL, status shows it', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rotv-test-home-'))
  const pgPort = await freePort()
  const envFile = join(home, 'test.env')
  writeFileSync(envFile, `SEED_SOURCE=file\nSEED_FILE=${dump}\n`)
  const env = isolatedEnv({ ROTV_HOME: home, APP_PORT: String(await freePort()), PG_PORT: String(pgPort), ROTV_DOTENV: envFile })
  t.teardown(() => {
    runCliSync(['stop', '--dotenv', envFile], env)
    rmSync(home, { recursive: true, force: true })
  })
  const started = runCliSync(['start', '--db-only', '--json', '--dotenv', envFile], env)
  t.equal(started.code, 0, started.stderr)
  const start = JSON.parse(started.stdout).tasks.find((x: { name: string }) => x.name === 'start')
  t.match(start.result, { databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/rotv`, dbOnly: true })

  const client = new pg.Client({ connectionString: start.result.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  const loaded = (await client.query(checksums)).rows
  t.same(loaded.map((r) => r.t), ['schema_migrations', 'session', 'users'], 'only the dump\'s tables: no app migration ran')
  const dbs = (await client.query("SELECT datname FROM pg_database WHERE datname LIKE 'rotv%_test'")).rows
  t.same(dbs, [], 'no extra app database')
  t.same((await client.query('SELECT version, dirty FROM schema_migrations')).rows, [{ version: '20190101000000', dirty: false }])

  await client.query('CREATE DATABASE psql_ref')
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-d', 'psql_ref', '-f', dump])
  const ref = new pg.Client({ host: '127.0.0.1', port: pgPort, user: 'postgres', database: 'psql_ref' })
  await ref.connect()
  const expected = (await ref.query(checksums)).rows
  await ref.end()
  t.same(loaded, expected, 'row checksums of every table equal a psql -f load')

  const status = runCliSync(['status', '--json', '--dotenv', envFile], env)
  t.equal(status.code, 0, status.stderr)
  t.match(JSON.parse(status.stdout).tasks.find((x: { name: string }) => x.name === 'status').result, { running: true, dbOnly: true, databaseUrl: start.result.databaseUrl })
})
