// The container runtime end to end through the CLI, on real (rootful) podman and the image the `build`
// task makes from a local Debian trixie base: start on the demo snapshot (371 POIs, /api/destinations
// 178), reset, a clean slate across restarts (the second start is warm), secrets never in `ps` nor in
// `podman inspect`, persistent mode keeping data in DATA_DIR owned by the container's postgres (UID 70)
// and shut down cleanly by `stop`.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { repo, runCli, type CliResult } from './helpers/cli.ts'
import { containerEnv, ensureTestImage, podman, psAll, removeContainer, TEST_IMAGE } from './helpers/podman.ts'

t.before(async () => {
  await ensureTestImage(await containerEnv())
})

interface Task {
  name: string
  summary: string
  result: Record<string, unknown>
}

function task(r: CliResult, name: string): Task {
  const report = JSON.parse(r.stdout) as { tasks: Task[] }
  const found = report.tasks.find((x) => x.name === name)
  if (!found) throw new Error(`no ${name} in ${r.stdout}`)
  return found
}

/** Start through the CLI while watching every process's command line for `secret`. */
async function startWatching(env: NodeJS.ProcessEnv, secret: string): Promise<{ r: CliResult; seenInPs: boolean; samples: number }> {
  let seenInPs = false
  let samples = 0
  const timer = setInterval(() => {
    samples++
    if (psAll().includes(secret)) seenInPs = true
  }, 100)
  try {
    const r = await runCli(['start', '--json'], env)
    return { r, seenInPs, samples }
  } finally {
    clearInterval(timer)
  }
}

async function psql(container: string, sql: string): Promise<string> {
  return (await podman(['exec', container, 'psql', '-U', 'postgres', '-d', 'rotv', '-tAc', sql])).stdout.trim()
}

/** The spare copies for reset and whether anyone may connect to them ("name|false"). */
async function spares(container: string): Promise<string> {
  return psql(container, "SELECT string_agg(datname || '|' || datallowconn::text, ',') FROM pg_database WHERE datname LIKE '%spare%'")
}

async function until(cond: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 100))
  }
}

const INSERT_POI = "INSERT INTO pois (slug, name, poi_type, latitude, longitude) VALUES ('test-poi', 'Test POI', 'trail', 41.2, -81.5)"

function cleanup(t: { teardown: (fn: () => Promise<void>) => void }, env: NodeJS.ProcessEnv, extraDirs: string[] = []): void {
  t.teardown(async () => {
    await runCli(['stop'], env)
    await removeContainer(env.ROTV_CONTAINER_NAME!)
    for (const d of [env.ROTV_HOME!, ...extraDirs]) rmSync(d, { recursive: true, force: true })
  })
}

t.test('dev mode: snapshot in tmpfs, counts, reset, clean slate, warm restart, secrets kept out of ps and inspect', async (t) => {
  const secret = `s3cret-${randomBytes(20).toString('hex')}`
  const env = await containerEnv({ SESSION_SECRET: secret })
  cleanup(t, env)
  const name = env.ROTV_CONTAINER_NAME!
  const port = env.APP_PORT!

  const first = await startWatching(env, secret)
  t.equal(first.r.code, 0, 'start exits 0', { output: first.r.all.slice(-4000) })
  const start = task(first.r, 'start')
  t.match(start.summary, `ready at http://localhost:${port}: 371 POIs, 178 destinations, 647 news, 680 events`)
  t.same([start.result.runtime, start.result.mode, start.result.prepared], ['container', 'dev', 'imported'])
  const destinations = (await (await fetch(`http://127.0.0.1:${port}/api/destinations`)).json()) as unknown[]
  t.equal(destinations.length, 178, '/api/destinations has 178 entries')
  t.equal(await psql(name, 'SELECT count(*) FROM pois'), '371')

  // Where the data lives: a tmpfs of TMPFS_SIZE, PGDATA owned by postgres (UID 70) inside it.
  const mounts = (await podman(['exec', name, 'sh', '-c', "grep ' /data/pgdata ' /proc/mounts; stat -c '%u:%g %a' /data/pgdata/cluster"])).stdout
  t.match(mounts, /^tmpfs \/data\/pgdata tmpfs [^\n]*size=2097152k/m, 'PGDATA is on a 2G tmpfs')
  t.match(mounts, /^70:70 700$/m, 'the cluster belongs to UID 70, mode 0700')
  t.equal(await psql(name, "SELECT current_setting('listen_addresses')"), '127.0.0.1', 'PostgreSQL listens on loopback only')
  t.equal(await psql(name, "SELECT name FROM pg_available_extensions WHERE name = 'postgis'"), 'postgis', 'PostGIS is available')
  t.match(await psql(name, 'SELECT version()'), /^PostgreSQL 17\./, "Debian's PostgreSQL 17")

  // Secrets: delivered to the app, but never on a command line nor in the engine's configuration.
  t.ok(first.samples > 0, `ps was sampled during start (${first.samples} samples)`)
  t.notOk(first.seenInPs, 'the secret never appeared in ps during start')
  t.notOk(psAll().includes(secret), 'nor after it')
  t.notOk((await podman(['container', 'inspect', name])).stdout.includes(secret), 'podman inspect of the container does not show it')
  t.notOk((await podman(['image', 'inspect', TEST_IMAGE])).stdout.includes(secret), 'podman inspect of the image does not show it')
  t.same(readdirSync(join(env.ROTV_HOME!, 'run')).filter((f) => f.startsWith('container-secrets-')), [], 'the env file is removed once started')
  const logs = await podman(['logs', name])
  t.notMatch(`${logs.stdout}${logs.stderr}`, /SESSION_SECRET is not set/, 'the app got SESSION_SECRET')
  t.notOk(`${logs.stdout}${logs.stderr}`.includes(secret), 'the secret is not in the container output')
  const published = (await podman(['port', name])).stdout.trim().split('\n').sort()
  t.same(published, [`5433/tcp -> 127.0.0.1:${env.PG_PORT}`, `8080/tcp -> 127.0.0.1:${port}`], 'the app and PostgreSQL published on 127.0.0.1 only')
  // PG_PORT reaches the container's PostgreSQL as it reaches the host runtime's.
  const direct = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${env.PG_PORT}/rotv` })
  await direct.connect()
  t.equal((await direct.query('SELECT count(*)::int AS n FROM pois')).rows[0].n, 371, 'psql -h 127.0.0.1 -p PG_PORT works from the host')
  await direct.end()

  // A second start while running is a clear message, and leaves the running one alone.
  const again = await runCli(['start'], env)
  t.equal(again.code, 1)
  t.match(again.all, /already running/)

  // reset puts the pristine data back without a restart.
  await psql(name, INSERT_POI)
  t.equal(await psql(name, 'SELECT count(*) FROM pois'), '372')
  // the spare copy the supervisor makes once the app answers
  await until(async () => (await spares(name)) === 'rotv__rotv_spare|false')
  const reset = await runCli(['reset', '--json'], env)
  t.equal(reset.code, 0, 'reset exits 0', { output: reset.all.slice(-4000) })
  t.match(task(reset, 'reset').summary, /rotv is back to the snapshot/)
  t.equal(task(reset, 'reset').result.via, 'spare', 'reset swapped in the spare copy')
  t.equal(await psql(name, 'SELECT count(*) FROM pois'), '371', 'reset restored the snapshot')
  // the next one is made by a process reset started, which outlives the exec session
  await until(async () => (await spares(name)) === 'rotv__rotv_spare|false')
  t.match((await podman(['exec', name, 'cat', '/var/log/rotv/spare.log'])).stdout, /spare copy of rotv_pristine: ready in \d+ ms[^]*ready in \d+ ms/)

  // status and logs find the container.
  const status = await runCli(['status', '--json'], env)
  t.equal(status.code, 0, 'status exits 0', { output: status.all.slice(-4000) })
  t.match(task(status, 'status').result, { running: true, healthy: true, runtime: 'container', mode: 'dev', container: name })
  // The same lines as the host runtime's status: address, database size, the spare copy.
  t.match(task(status, 'status').result, { databaseUrl: `postgres://postgres@127.0.0.1:${env.PG_PORT}/rotv`, spareReady: true })
  t.ok((task(status, 'status').result as { databaseBytes: number }).databaseBytes > 1_000_000, 'status has the database size')
  t.match(status.all, new RegExp(`PostgreSQL 17[^\\n]*: running \\(in the container, 127\\.0\\.0\\.1:${env.PG_PORT}\\), rotv is [\\d.]+ MB`))
  t.match(status.all, /reset: a spare copy is ready \(renames only\)/)
  const logsCli = await runCli(['logs', '--no-follow', '--lines', '200'], env)
  t.equal(logsCli.code, 0, 'logsCli exits 0', { output: logsCli.all.slice(-4000) })
  t.match(logsCli.all, /\[rotv-entrypoint\] database ready \(imported/, 'logs show the entrypoint output')
  t.match(logsCli.all, /database system is ready to accept connections/, 'and PostgreSQL\'s own log')
  const pgLog = join(env.ROTV_HOME!, 'logs', 'container', 'postgres.log')
  t.match(readFileSync(pgLog, 'utf8'), /database system is ready to accept connections/, 'PostgreSQL\'s log is in the data home')
  t.match(status.all, new RegExp(`logs: .*${pgLog.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'status names it')

  // Clean slate: a change does not survive stop + start; the second start copies the warm cluster.
  await psql(name, INSERT_POI)
  const restart = await runCli(['stop', 'start', '--json'], env)
  t.equal(restart.code, 0, 'restart exits 0', { output: restart.all.slice(-4000) })
  t.match(task(restart, 'stop').summary, 'in-memory data discarded')
  t.equal(task(restart, 'start').result.prepared, 'warm', 'the second start is warm (cached cluster copied into the tmpfs)')
  t.equal(await psql(name, 'SELECT count(*) FROM pois'), '371', 'the inserted row is gone')
  // Right after a warm start (its pristine template is copied while the app boots), reset works.
  await psql(name, INSERT_POI)
  const warmReset = await runCli(['reset'], env)
  t.equal(warmReset.code, 0, 'reset right after a warm start exits 0', { output: warmReset.all.slice(-4000) })
  t.equal(await psql(name, 'SELECT count(*) FROM pois'), '371', 'and restores the snapshot')
  t.match(await podman(['exec', name, 'cat', '/run/rotv/state.json']).then((r) => r.stdout), /"pristineDb": ?"rotv_pristine"/, 'the run state names the template once it is in place')

  const stop = await runCli(['stop'], env)
  t.equal(stop.code, 0, 'stop exits 0', { output: stop.all.slice(-4000) })
  await t.rejects(podman(['container', 'exists', name]), 'the container is removed on stop')
  t.match(readFileSync(pgLog, 'utf8'), /database system is shut down/, 'PostgreSQL\'s log outlives the container, to its shutdown')
  const stopAgain = await runCli(['stop'], env)
  t.match(stopAgain.all, /nothing was running/)
})

t.test('persistent mode: DATA_DIR bind mount owned by UID 70, data kept across restarts, clean shutdown', async (t) => {
  const secret = `persist-${randomBytes(20).toString('hex')}`
  const dataDir = join(mkdtempSync(join(tmpdir(), 'rotv-ctest-data-')), 'pgdata')
  const env = await containerEnv({ PERSISTENT_DATA: 'true', DATA_DIR: dataDir, SESSION_SECRET: secret })
  cleanup(t, env, [join(dataDir, '..')])
  const name = env.ROTV_CONTAINER_NAME!

  const first = await startWatching(env, secret)
  t.equal(first.r.code, 0, 'start exits 0', { output: first.r.all.slice(-4000) })
  const start = task(first.r, 'start')
  t.same([start.result.mode, start.result.prepared], ['persistent', 'imported'], 'a new cluster is seeded from the snapshot')
  t.match(start.summary, '371 POIs, 178 destinations')
  t.notOk(first.seenInPs, 'the secret never appeared in ps')
  const st = statSync(dataDir)
  t.same([st.uid, st.gid], [70, 70], 'DATA_DIR on the host belongs to 70:70 (the container\'s postgres)')
  t.ok(readdirSync(dataDir).includes('PG_VERSION'), 'DATA_DIR is the cluster itself')

  await psql(name, INSERT_POI)
  const stop = await runCli(['stop', '--json'], env)
  t.equal(stop.code, 0, 'stop exits 0', { output: stop.all.slice(-4000) })
  t.match(task(stop, 'stop').summary, 'data kept')
  // `podman stop` reached the supervisor: PostgreSQL was shut down, not killed with the container.
  const control = await podman(['run', '--rm', '--entrypoint', '/usr/lib/postgresql/17/bin/pg_controldata', '-v', `${dataDir}:/d:Z`, TEST_IMAGE, '/d'])
  t.match(control.stdout, /Database cluster state:\s+shut down\n/, 'the cluster was shut down cleanly')

  const second = await runCli(['start', '--json'], env)
  t.equal(second.code, 0, 'second exits 0', { output: second.all.slice(-4000) })
  t.equal(task(second, 'start').result.prepared, 'kept', 'the existing cluster is kept, not re-imported')
  t.equal(await psql(name, "SELECT count(*) FROM pois WHERE slug = 'test-poi'"), '1', 'the row written before the restart is still there')
  t.equal(await psql(name, 'SELECT count(*) FROM pois'), '372')

  const reset = await runCli(['reset'], env)
  t.equal(reset.code, 1, 'reset refuses persistent data')
  t.match(reset.all, /persistent data/)
})

t.test('start --foreground: the container output here, Ctrl-C stops and removes the container', async (t) => {
  const env = await containerEnv()
  cleanup(t, env)
  const name = env.ROTV_CONTAINER_NAME!
  const { spawn } = await import('node:child_process')
  const child = spawn(join(repo, 'node_modules', '.bin', 'tsx'), [join(repo, 'Taskfile.ts'), 'start', '--foreground'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d
      if (/\(attached: Ctrl-C stops the container\)/.test(out)) resolve()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', () => reject(new Error(`start --foreground exited early:\n${out}`)))
  })
  await ready
  t.match(out, `ready at http://localhost:${env.APP_PORT}: 371 POIs`)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.kill('SIGINT')
  const code = await exited
  t.equal(code, 0, 'Ctrl-C, the documented way out of --foreground, is a normal end (exit 0)')
  t.match(out, /start: stopped/)
  t.notMatch(out, /FAILED|interrupted/)
  await t.rejects(podman(['container', 'exists', name]), 'the container is stopped and removed')
  t.match(out, /\[rotv-entrypoint\] SIGTERM: stopping the app, then PostgreSQL/, 'the supervisor output was shown')
})
