// Scheduled refresh with Debian's cron: the crontab round trip (install, reinstall, remove) leaves the
// user's own lines as they were, and the installed line's command, run the way cron runs it (sh -c, no
// TTY, a minimal environment, another working directory), refreshes the snapshot, records its result for
// `status`, and leaves a running environment alone. Root's real crontab is saved and put back.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { isolatedEnv, runCliSync } from './helpers/cli.ts'
import { freePort } from './helpers/production-postgres.ts'
import { unitFiles } from '../lib/schedule/systemd.ts'

const dump = join(import.meta.dirname, 'fixtures', 'dumps', 'not-our-app.sql')
const MARK = '# rotv-dev scheduled refresh'
// What a user keeps in their crontab: a comment, a variable, a job with cron's escaped %, a blank line.
const userLines = ['# my own jobs', 'MAILTO=""', '30 4 * * * /usr/bin/true --pct 50\\% # keep me', '', '@reboot /usr/bin/true']

function crontab(args: string[], input?: string) {
  return spawnSync('crontab', args, { input, encoding: 'utf8' })
}
function currentCrontab(): string[] {
  const r = crontab(['-l'])
  return r.status === 0 ? r.stdout.replace(/\n$/, '').split('\n') : []
}

t.test('schedule install / run as cron runs it / status / remove, with Debian cron', async (t) => {
  const saved = crontab(['-l'])
  t.teardown(() => {
    if (saved.status === 0) crontab(['-'], saved.stdout)
    else crontab(['-r'])
  })
  t.equal(crontab(['-'], `${userLines.join('\n')}\n`).status, 0, 'a user crontab to keep')

  const home = mkdtempSync(join(tmpdir(), 'rotv-test-home-'))
  const envFile = join(home, 'project.env')
  writeFileSync(envFile, `SEED_SOURCE=file\nSEED_FILE=${dump}\n`)
  const pgPort = await freePort()
  const env = isolatedEnv({ ROTV_HOME: home, APP_PORT: String(await freePort()), PG_PORT: String(pgPort) })
  const cli = (...args: string[]) => runCliSync(['--dotenv', envFile, ...args], env)
  t.teardown(() => {
    cli('stop')
    rmSync(home, { recursive: true, force: true })
  })

  const bad = cli('schedule', 'install', '--at', '25:00')
  t.equal(bad.code, 1, 'an impossible time is refused')
  t.match(bad.all, /--at 25:00 is not a time of day[\s\S]*HH:MM/)
  const salt = 'a-salt-only-in-this-shell-0123456789'
  const fromShell = runCliSync(['--dotenv', envFile, 'schedule', 'install'], { ...env, ANONYMIZE_SALT: salt })
  t.equal(fromShell.code, 1, 'a secret set only in the shell is refused')
  t.match(fromShell.all, /ANONYMIZE_SALT is set in this shell only[\s\S]*\.env/)
  t.notMatch(fromShell.all, salt, 'and never printed')
  t.same(currentCrontab(), userLines, 'refusals leave the crontab as it was')

  const first = cli('schedule', 'install', '--at', '03:15')
  t.equal(first.code, 0, first.all)
  const second = cli('schedule', 'install', '--at', '05:30', 'production', '--json')
  t.equal(second.code, 0, second.all)
  const lines = currentCrontab()
  const ours = lines.filter((l) => l.includes(MARK))
  t.equal(ours.length, 1, 'installing twice leaves one entry')
  t.match(ours[0], /^30 5 \* \* \* '/, 'at the time of the last install')
  t.same(lines.filter((l) => !l.includes(MARK)), userLines, 'the user\'s lines are untouched')
  const job = readFileSync(join(home, 'schedule', 'refresh-job.sh'), 'utf8')
  t.match(job, `export ROTV_HOME='${home}'`, 'the job carries the data home this shell set')
  t.match(job, `'--dotenv' '${envFile}'`, 'and the env file the install used')

  // A running environment on the snapshot, which the refresh must not disturb.
  t.equal(cli('seed').code, 0)
  const started = cli('start', '--db-only', '--json')
  t.equal(started.code, 0, started.all)
  const url = JSON.parse(started.stdout).tasks.find((x: { name: string }) => x.name === 'start').result.databaseUrl
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  t.teardown(() => db.end())
  await db.query("INSERT INTO users (uid, handle) VALUES (999, 'work in progress')")
  const before = (await db.query('SELECT pg_postmaster_start_time()::text AS t, (SELECT count(*) FROM users)::int AS n')).rows[0]
  const pulledBefore = JSON.parse(readFileSync(join(home, 'snapshots', 'production', 'manifest.json'), 'utf8')).pulledAt

  // cron runs the command field with /bin/sh -c, from HOME, without a TTY, in a minimal environment.
  const command = ours[0]!.split(/\s+/).slice(5).join(' ')
  // setsid -w: a new session, so the job has no controlling terminal, as under cron.
  const asCron = spawnSync('setsid', ['-w', '/bin/sh', '-c', command], {
    cwd: '/', env: { HOME: process.env.HOME, LOGNAME: 'root', SHELL: '/bin/sh', PATH: '/usr/bin:/bin' }, stdio: 'ignore', timeout: 120_000,
  })
  t.equal(asCron.status, 0, 'the job as cron runs it succeeds')
  const last = JSON.parse(readFileSync(join(home, 'schedule', 'last-run.json'), 'utf8'))
  t.match(last, { ok: true, environment: 'production', snapshot: 'production' })
  t.not(JSON.parse(readFileSync(join(home, 'snapshots', 'production', 'manifest.json'), 'utf8')).pulledAt, pulledBefore, 'a new snapshot was committed')
  t.match(readFileSync(join(home, 'schedule', 'refresh.log'), 'utf8'), /scheduled refresh of production[\s\S]*refreshed/, 'its output is in the log')
  const after = (await db.query('SELECT pg_postmaster_start_time()::text AS t, (SELECT count(*) FROM users)::int AS n')).rows[0]
  t.same(after, before, 'the running environment kept its server and its data')
  const status = cli('status')
  t.match(status.all, /scheduled refresh: "production" daily at 05:30 \(cron\); last run \S+ \S+ UTC: ok, snapshot production/)

  // A run that fails is recorded with its reason, and `snapshots` warns about it.
  writeFileSync(envFile, `SEED_SOURCE=file\nSEED_FILE=${join(home, 'gone.sql')}\n`)
  t.not(spawnSync('/bin/sh', ['-c', command], { cwd: '/', env: { HOME: process.env.HOME, PATH: '/usr/bin:/bin' }, stdio: 'ignore', timeout: 120_000 }).status, 0)
  const failed = JSON.parse(readFileSync(join(home, 'schedule', 'last-run.json'), 'utf8'))
  t.match(failed, { ok: false, environment: 'production', error: /gone\.sql/ })
  t.match(cli('snapshots').all, /last run .* FAILED: .*gone\.sql/)

  const removed = cli('schedule', 'remove')
  t.equal(removed.code, 0)
  t.match(removed.all, /scheduled refresh removed \(cron\)/)
  t.same(currentCrontab(), userLines, 'remove leaves exactly the user\'s lines')
  t.notOk(existsSync(join(home, 'schedule', 'refresh-job.sh')), 'and the job script')
  t.match(cli('schedule', 'remove').all, /no scheduled refresh was installed/)
})

t.test('the systemd user timer units pass systemd-analyze verify', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rotv-units-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const job = join(dir, 'refresh 100%.sh')
  writeFileSync(job, '#!/bin/sh\n', { mode: 0o700 })
  const u = unitFiles('0123456789ab', { hour: 2, minute: 0, job, description: 'rotv-dev refresh of production' })
  writeFileSync(join(dir, u.service.name), u.service.text)
  writeFileSync(join(dir, u.timer.name), u.timer.text)
  t.match(u.timer.text, /OnCalendar=\*-\*-\* 02:00:00\nPersistent=true/, 'a daily timer that catches up after sleep')
  const runtime = mkdtempSync(join(tmpdir(), 'rotv-xdg-'))
  t.teardown(() => rmSync(runtime, { recursive: true, force: true }))
  const r = spawnSync('systemd-analyze', ['verify', '--user', join(dir, u.timer.name), join(dir, u.service.name)], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtime } })
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stderr.trim(), '', 'no warning about either unit (quoting of a path with a space and %)')
})
