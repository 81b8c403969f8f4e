// A second app, declared only by its own project file (test/fixtures/notes-app), through the same
// commands as the reference app on the host runtime: validate-env, start, status, reset, logs, stop.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { isolatedEnv, tsx } from './helpers/cli.ts'
import { freePort } from './helpers/production-postgres.ts'

const app = join(import.meta.dirname, 'fixtures', 'notes-app')
const notes = (args: string[], env: NodeJS.ProcessEnv) => {
  const r = spawnSync(tsx, [join(app, 'Taskfile.ts'), ...args], { cwd: app, env, encoding: 'utf8', timeout: 300_000 })
  return { code: r.status, stdout: r.stdout, all: `${r.stdout}${r.stderr}` }
}
const result = (out: string, task: string) => JSON.parse(out).tasks.find((x: { name: string }) => x.name === task).result

t.test('the notes app runs through the same commands by its project file alone', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'notes-test-home-'))
  const appPort = await freePort()
  const pgPort = await freePort()
  const envFile = join(home, 'notes.env')
  const env = isolatedEnv({ ROTV_HOME: home, APP_PORT: String(appPort), PG_PORT: String(pgPort) })
  t.teardown(() => {
    notes(['stop', '--dotenv', envFile], env)
    rmSync(home, { recursive: true, force: true })
  })

  writeFileSync(envFile, `SEED_SOURCE=file\nSEED_FILE=${join(app, 'data', 'notes.sql')}\n`)
  const invalid = notes(['validate-env', '--dotenv', envFile], env)
  t.equal(invalid.code, 1, 'its required variable missing fails validate-env')
  t.match(invalid.all, /NOTES_API_KEY is missing: the app needs it/)
  t.match(invalid.all, /NOTES_API_KEY is missing: the app needs it -> set NOTES_API_KEY in \.env/)
  t.notMatch(invalid.all, /SESSION_SECRET|GOOGLE_CLIENT|ADMIN_EMAIL/, 'nothing of the reference app')

  writeFileSync(envFile, `SEED_SOURCE=file\nSEED_FILE=${join(app, 'data', 'notes.sql')}\nNOTES_API_KEY=dev-key-12345\n`)
  const started = notes(['start', '--json', '--dotenv', envFile], env)
  t.equal(started.code, 0, started.all)
  const start = result(started.stdout, 'start')
  t.match(start, { url: `http://localhost:${appPort}`, databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/notes`, runtime: 'host' })
  t.match(started.all, /ready at http:\/\/localhost:\d+: 3 notes, 0 tags/, 'the ready line: row counts of the declared tables')

  const db = new pg.Client({ connectionString: start.databaseUrl })
  await db.connect()
  db.on('error', () => {}) // reset ends every connection to the database
  const tables = (await db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.tablename)
  t.same(tables, ['notes', 'notes_schema', 'tags'], 'its own migrator ran; none of the reference app\'s migrations')
  t.same((await db.query("SELECT datname FROM pg_database WHERE datname LIKE 'notes%' ORDER BY 1")).rows.map((r) => r.datname), ['notes', 'notes_pristine'], 'no extra database')

  await db.end()
  const posted = await fetch(`http://127.0.0.1:${appPort}/notes`, { method: 'POST', headers: { 'x-api-key': 'dev-key-12345' }, body: 'a fourth note' })
  t.equal(posted.status, 201, 'the app got its declared variable')
  const status = notes(['status', '--json', '--dotenv', envFile], env)
  t.equal(status.code, 0, status.all)
  t.match(result(status.stdout, 'status'), { running: true, healthy: true })
  t.match(status.all, /healthy: 4 notes, 0 tags/)

  const reset = notes(['reset', '--dotenv', envFile], env)
  t.equal(reset.code, 0, reset.all)
  const after = (await (await fetch(`http://127.0.0.1:${appPort}/notes`)).json()) as { body: string }[]
  t.same(after.map((n) => n.body), ['buy milk', 'call the plumber', 'water the plants'], 'reset put the snapshot back, migrated')

  const logs = notes(['logs', '--no-follow', '--dotenv', envFile], env)
  t.equal(logs.code, 0, logs.all)
  t.match(logs.all, `notes service listening on ${appPort}`)

  const stopped = notes(['stop', '--dotenv', envFile], env)
  t.equal(stopped.code, 0, stopped.all)
  await t.rejects(fetch(`http://127.0.0.1:${appPort}/ready`), 'the app is stopped')
})
