// The container's supervisor: the entrypoint execs it (as root, under tini) after fixing PGDATA's owner.
//
//   prepare the database with lib/runtime/database.ts prepareDatabase (the host runtime's own code:
//   warm cluster copy or snapshot import with the shared loader, migrations, pristine template) ->
//   start the app as an unprivileged user (a cold start's warm cluster is saved meanwhile) -> wait ->
//   on SIGTERM/SIGINT: stop the app, let the save finish, stop PostgreSQL (fast shutdown), exit.
//
// Why not exec the app from the shell: then the app is the only process that sees `podman stop`'s
// SIGTERM and PostgreSQL is SIGKILLed with the container; a persistent cluster would need crash
// recovery on every start. This process holds the running-server handle, so the clean stop is one call.
//
// Settings come from the environment (set by lib/runtime/container.ts or by hand in production):
//   PERSISTENT_DATA=true   keep the cluster in the /data/pgdata bind mount; else dev mode (tmpfs)
//   DB_NAME, PG_PORT, APP_PORT, PG_BIN_DIR
//   ROTV_SNAPSHOT_FILE     the mounted snapshot (default /data/snapshot/dump.sql.br), optional in
//                          persistent mode; ROTV_SNAPSHOT_NAME / _SHA256 / _SQL_BYTES / _SERVER_VERSION /
//                          _PG_DUMP_VERSION describe it (the sha256 is computed when not given)
//   ROTV_APP               the app: command, args, cwd, readiness, migrations, extra databases (JSON,
//                          lib/container/app-spec.ts; the runner passes the project file's, the
//                          Containerfile's ENV is the default for an image run by hand)
//   ROTV_TMPFS_BYTES       dev mode: the tmpfs size limit (TMPFS_SIZE) for the space check
//   ROTV_SECRETS_FILE      dotenv file with the app's secrets (default /run/secrets/rotv.env): read
//                          here and handed to the app's environment only, never logged
// Secrets are read from a mounted file, not from `-e`/--env-file, so they appear neither in `ps`
// nor in `podman inspect` of the container or the image.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
import { appendFile, mkdir, writeFile, rename } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import pg from 'pg'
import { describeError } from '../errors.ts'
import { openDumpFile } from '../loader/index.ts'
import { resolveBinaries, resolveServerUser, type RunningServer } from '../postgres/index.ts'
import { databaseEnv, prepareDatabase, saveWarmCluster, type MigrationStep, type PreparedDatabase, type SnapshotHandle } from '../runtime/database.ts'
import { waitForReady } from '../runtime/readiness.ts'
import { parseContainerApp } from './app-spec.ts'
import { describeSpareOutcome, makeSpareCopy, type SpareJob } from '../runtime/spare.ts'
import { CONTAINER_PATHS, CONTAINER_PG_FORWARD_PORT, type ContainerRunState } from './paths.ts'

const log = (msg: string) => process.stdout.write(`[rotv-entrypoint] ${msg}\n`)

async function main(): Promise<number> {
  const env = process.env
  const persistent = env.PERSISTENT_DATA === 'true'
  const dbName = env.DB_NAME || 'rotv'
  const pgPort = Number(env.PG_PORT || 5432)
  const appPort = Number(env.APP_PORT || 8080)
  const spec = parseContainerApp(env.ROTV_APP)
  const secrets = readSecrets(env.ROTV_SECRETS_FILE || CONTAINER_PATHS.secretsFile)
  const command = (c: string) => (c === 'node' ? process.execPath : c)
  const migrations: MigrationStep | undefined = !spec.migrations
    ? undefined
    : 'sql' in spec.migrations
      ? { kind: 'sql', dir: spec.migrations.sql }
      // the image's app folder keys the warm cache: it holds whatever the migrator reads
      : { kind: 'command', command: command(spec.migrations.command), args: spec.migrations.args, cwd: spec.migrations.cwd, env: secrets, inputs: [spec.cwd] }
  const root = CONTAINER_PATHS.pgdataMount
  // Dev: the cluster lives one level below the tmpfs mount point, because the warm-cache copy replaces
  // the cluster directory wholesale and a mount point cannot be removed. Persistent: DATA_DIR is the
  // cluster itself, the same layout as the host runtime's PERSISTENT_DATA.
  const pgdata = persistent ? root : join(root, 'cluster')

  const abort = new AbortController()
  let stopping = false
  let app: ChildProcess | undefined
  let server: RunningServer | undefined
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    log(`${sig}: stopping${app ? ' the app, then' : ''} PostgreSQL`)
    if (app) app.kill('SIGTERM')
    else abort.abort()
  }
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  process.on('SIGINT', () => onSignal('SIGINT'))

  const binaries = await resolveBinaries({ binDir: env.PG_BIN_DIR || '/usr/lib/postgresql/17/bin', runAs: 'postgres' })
  log(`PostgreSQL ${binaries.version.full}; ${persistent ? `persistent data in ${pgdata}` : `in-memory data in ${pgdata}`}`)
  const snapshotFile = env.ROTV_SNAPSHOT_FILE || CONTAINER_PATHS.snapshotFile
  const snapshot = await withSha(snapshotFromEnv(env, snapshotFile), snapshotFile)
  if (!persistent && !snapshot) throw new Error(`dev mode needs a snapshot mounted at ${CONTAINER_PATHS.snapshotFile} (or set PERSISTENT_DATA=true)`)
  await mkdir(CONTAINER_PATHS.logDir, { recursive: true })

  let db: PreparedDatabase
  try {
    db = await prepareDatabase({
      binaries,
      pgdata,
      mode: persistent ? 'persistent' : 'dev',
      port: pgPort,
      runAs: 'postgres',
      logFile: CONTAINER_PATHS.postgresLog,
      dbName,
      extraDatabases: spec.extraDatabases,
      migrations,
      snapshot,
      cacheDir: !persistent && existsSync(CONTAINER_PATHS.clusterCache) ? CONTAINER_PATHS.clusterCache : undefined,
      // a warm start copies the pristine template while the app boots; reset waits for it
      deferPristine: true,
      limitBytes: !persistent && env.ROTV_TMPFS_BYTES ? Number(env.ROTV_TMPFS_BYTES) : undefined,
      signal: abort.signal,
      onProgress: throttled(log),
    })
  } catch (err) {
    if (stopping) return 143
    throw err
  }
  server = db.server
  for (const n of db.notices) log(n)
  // Written once the app answers (the host runtime runs the same function in a process of its own), or
  // at once when the container is told to stop; waited for before the container exits, so the next
  // start is warm.
  let release: () => void = () => {}
  // set once the container is on its way out: no new spare copy then
  let leaving = false
  const released = new Promise<void>((resolve) => (release = resolve))
  const pending = db.warmSave
  const warmSave = pending
    ? released
        .then(() => saveWarmCluster(pending))
        .then(
          (entry) => log(`warm cluster saved for the next start (${entry.files} files)`),
          (err: unknown) => log(`warm cluster not saved: ${describeError(err).message}`),
        )
    : Promise.resolve()
  // the warm save and the spare copy for reset (both dev mode only) wait for the app to answer
  if (!persistent) void waitForReady({ readiness: spec.readiness, port: appPort, cwd: spec.cwd, timeoutMs: 120_000 }).then(release, release)
  log(`database ready (${db.prepared}${db.load ? `: ${Object.values(db.load.rows).reduce((a, b) => a + b, 0)} rows in ${(db.load.durationMs / 1000).toFixed(1)} s` : ''}${db.migrationsApplied.length ? `; migrations ${db.migrationsApplied.join(', ')}` : ''})`)
  await ensureDumpRole(server, dbName)
  forwardPostgres(pgPort)
  const limitBytes = !persistent && env.ROTV_TMPFS_BYTES ? Number(env.ROTV_TMPFS_BYTES) : undefined
  const runState: ContainerRunState = { mode: persistent ? 'persistent' : 'dev', dbName, pgPort, prepared: db.prepared, pgVersion: binaries.version.full, pgdata, limitBytes }
  await writeRunState(db.pristineReady ? { ...runState, pristinePending: true } : { ...runState, pristineDb: db.pristineDb })
  const pristine = (db.pristineReady ?? Promise.resolve()).then(
    async () => {
      if (db.pristineReady) await writeRunState({ ...runState, pristineDb: db.pristineDb })
      // the copy the first reset swaps in (each reset has the next one made), once the app answers
      if (db.pristineDb) void released.then(() => (leaving ? undefined : makeSpareInBackground({ port: pgPort, dbName, pristineDb: db.pristineDb!, pgdata, limitBytes })))
    },
    async (err: unknown) => {
      log(`the pristine template could not be copied (reset will not work): ${describeError(err).message}`)
      await writeRunState({ ...runState, pristineError: describeError(err).message })
    },
  )
  if (stopping) {
    leaving = true
    release()
    await pristine
    await warmSave
    await server.stop('fast')
    return 143
  }

  const appUser = await resolveServerUser('rotv').catch(() => undefined)
  app = spawn(command(spec.command), spec.args, {
    cwd: spec.cwd,
    env: {
      PATH: env.PATH,
      HOME: dirname(spec.cwd),
      LANG: env.LANG ?? 'C.UTF-8',
      NODE_ENV: persistent ? 'production' : 'development',
      // Inside the container's own network namespace; the host publishes it on 127.0.0.1 only.
      HOST: '0.0.0.0',
      PORT: String(appPort),
      ...databaseEnv(pgPort, dbName),
      ...secrets,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
    ...(appUser ? { uid: appUser.uid, gid: appUser.gid } : {}),
  })
  const exited = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => app!.once('exit', (code, signal) => resolve({ code, signal })))
  if (!stopping) log(`the app exited (${exited.code ?? exited.signal}); stopping PostgreSQL`)
  leaving = true
  release()
  await pristine
  await warmSave
  await server.stop('fast')
  log('PostgreSQL stopped cleanly')
  return stopping ? 0 : exited.code ?? 1
}

async function makeSpareInBackground(job: SpareJob): Promise<void> {
  const line = await makeSpareCopy(job).then((outcome) => describeSpareOutcome(job, outcome), (error: unknown) => describeSpareOutcome(job, { error }))
  await appendFile(CONTAINER_PATHS.spareLog, `${line}\n`).catch(() => {})
}

function snapshotFromEnv(env: NodeJS.ProcessEnv, file: string): SnapshotHandle | undefined {
  if (!existsSync(file)) return undefined
  return {
    name: env.ROTV_SNAPSHOT_NAME || 'snapshot',
    sha256: env.ROTV_SNAPSHOT_SHA256 || '',
    sqlBytes: Number(env.ROTV_SNAPSHOT_SQL_BYTES || 0) || statSync(file).size * 8,
    serverVersion: env.ROTV_SNAPSHOT_SERVER_VERSION || null,
    pgDumpVersion: env.ROTV_SNAPSHOT_PG_DUMP_VERSION || null,
    open: async () => openDumpFile(file).stream,
  }
}

async function withSha(snapshot: SnapshotHandle | undefined, file: string): Promise<SnapshotHandle | undefined> {
  if (!snapshot || snapshot.sha256) return snapshot
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return { ...snapshot, sha256: hash.digest('hex') }
}

/**
 * `podman exec rotv pg_dump -U rotv rotv` (the ssh+podman snapshot source's default) needs a role
 * named rotv; it gets read access only, over the loopback/socket trust rules of the cluster.
 */
async function ensureDumpRole(server: RunningServer, dbName: string): Promise<void> {
  const client = new pg.Client(server.connection(dbName))
  await client.connect()
  try {
    await client.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rotv') THEN CREATE ROLE rotv LOGIN; END IF; END $$`)
    await client.query('GRANT pg_read_all_data TO rotv')
  } finally {
    await client.end().catch(() => {})
  }
}

function readSecrets(file: string): Record<string, string> {
  if (!existsSync(file)) return {}
  return parseDotenv(readFileSync(file))
}

async function writeRunState(state: ContainerRunState): Promise<void> {
  await mkdir(CONTAINER_PATHS.runDir, { recursive: true })
  const tmp = `${CONTAINER_PATHS.runState}.tmp`
  await writeFile(tmp, JSON.stringify(state))
  await rename(tmp, CONTAINER_PATHS.runState)
}

/**
 * PG_PORT on the host: the engine publishes the container's own interface, where PostgreSQL (loopback
 * only, trusting local connections like the host runtime's cluster) does not listen. This forwards that
 * one port to it; the host side is published on 127.0.0.1 only.
 */
function forwardPostgres(pgPort: number): void {
  const forwarder = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: pgPort })
    client.pipe(upstream).pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  forwarder.on('error', (err) => log(`PostgreSQL is not reachable from the host (forwarder on port ${CONTAINER_PG_FORWARD_PORT}): ${err.message}`))
  forwarder.listen(CONTAINER_PG_FORWARD_PORT, '0.0.0.0')
  forwarder.unref()
}

/** Import progress arrives every 250 ms; a container log wants a line every few seconds at most. */
function throttled(out: (m: string) => void): (m: string) => void {
  let last = 0
  let lastPrefix = ''
  return (m) => {
    const prefix = m.split(':')[0] ?? ''
    const now = Date.now()
    if (prefix === lastPrefix && now - last < 3000) return
    last = now
    lastPrefix = prefix
    out(m)
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = describeError(err)
    log(`failed: ${e.message}${e.fix ? `\n  fix: ${e.fix}` : ''}`)
    process.exit(1)
  },
)
