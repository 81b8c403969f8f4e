// The container runtime: the app and its PostgreSQL in one container of the rotv image (see the
// Containerfile and lib/container/supervisor.ts). start/stop/status/reset/logs with RUNTIME=container
// (or auto, when an engine is installed and the image exists) come here; the host runtime is host.ts.
//
// Dev mode: PGDATA on a tmpfs (--tmpfs /data/pgdata:rw,size=TMPFS_SIZE,mode=0700), the snapshot mounted
// read-only, the warm cluster cache mounted from the data home: every start is a clean slate.
// Persistent mode (PERSISTENT_DATA=true, production): DATA_DIR bind-mounted as PGDATA with :Z; rootless,
// `podman unshare chown 70:70 DATA_DIR` first so the container's postgres user (UID 70) owns it.
// Secrets go in a 0600 dotenv file in the data home, mounted read-only and removed once the app is up:
// never on a command line (`ps`), never in the container's or the image's configuration (`inspect`).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { RotvError } from '../errors.ts'
import { assertPortFree, serverConnection, spareName } from '../postgres/index.ts'
import { query } from './host.ts'
import { ContainerStartError, ImageMissingError } from '../container/errors.ts'
import { imageExists, requireEngine, runEngine, runPlain, type Engine } from '../container/engine.ts'
import { CONTAINER_APP_PORT, CONTAINER_PATHS, CONTAINER_PG_FORWARD_PORT, type ContainerRunState } from '../container/paths.ts'
import type { ContainerSettings } from '../container/settings.ts'
import { containerRunFix } from '../container/probe.ts'
import { clearContainerState, readContainerState, writeContainerState, type ContainerState } from '../container/state.ts'
import { waitForHealth, type HealthBody } from './health.ts'
import { describeReadiness, probe, waitForReady } from './readiness.ts'

/** The snapshot as the container mounts it: the store's verified file plus what the supervisor needs. */
export interface ContainerSnapshot {
  name: string
  sha256: string
  /** The stored file (<store>/<name>/<sha256>.sql.zst, or .sql.br from an earlier version). */
  file: string
  sqlBytes: number
  serverVersion?: string | null
  pgDumpVersion?: string | null
}

export interface ContainerStartOptions {
  snapshot?: ContainerSnapshot
  signal?: AbortSignal
  onProgress?: (message: string) => void
  healthTimeoutMs?: number
}

export interface ContainerStartResult {
  url: string
  health: HealthBody
  state: ContainerState
  notices: string[]
}

export class ContainerAlreadyRunningError extends RotvError {}
export class ContainerNotRunningError extends RotvError {}

export async function startContainer(settings: ContainerSettings, opts: ContainerStartOptions = {}): Promise<ContainerStartResult> {
  const progress = opts.onProgress ?? (() => {})
  const engine = await requireEngine()
  if (!(await imageExists(engine, settings.image))) {
    throw new ImageMissingError(`the image ${settings.image} does not exist`, { fix: 'build it: npx tsx Taskfile.ts build   (or RUNTIME=host to run without a container)' })
  }
  const existing = await inspectContainer(engine, settings.name)
  if (existing?.running) {
    throw new ContainerAlreadyRunningError(`the container ${settings.name} is already running`, {
      fix: 'use it, or run `npx tsx Taskfile.ts stop` first (or `npx tsx Taskfile.ts stop start` to restart on a clean slate)',
    })
  }
  // A container left stopped by a crash or a reboot holds the name; it has no data worth keeping
  // (dev data is on its tmpfs, persistent data in DATA_DIR).
  if (existing) await runEngine(engine, ['rm', '-f', settings.name])
  await assertPortFree(settings.appPort, 'APP_PORT')
  await assertPortFree(settings.pgPort, 'PG_PORT')

  const mode = settings.persistentDir ? 'persistent' : 'dev'
  if (mode === 'dev' && !opts.snapshot) throw new ContainerStartError('dev mode needs a snapshot to import', { fix: 'run `npx tsx Taskfile.ts seed` first' })
  const notices: string[] = []
  const runDir = join(settings.home, 'run')
  await mkdir(runDir, { recursive: true, mode: 0o700 })
  const secretsFile = join(runDir, `container-secrets-${randomBytes(6).toString('hex')}.env`)
  await writeFile(secretsFile, renderDotenv(settings.appEnv), { mode: 0o600, flag: 'wx' })

  const args = ['run', '--detach', '--name', settings.name, '--label', 'rotv.runtime=container', '--publish', `${settings.publishAddress}:${settings.appPort}:${CONTAINER_APP_PORT}`]
  // The database on loopback only, whatever ROTV_PUBLISH_ADDRESS says for the app (it trusts every local connection).
  args.push('--publish', `127.0.0.1:${settings.pgPort}:${CONTAINER_PG_FORWARD_PORT}`)
  args.push('--env', `PERSISTENT_DATA=${mode === 'persistent'}`, '--env', `DB_NAME=${settings.dbName}`)
  // what the supervisor starts and polls: the project file's app, with the image's paths
  if (settings.app) args.push('--env', `ROTV_APP=${JSON.stringify(settings.app)}`)
  if (mode === 'dev') {
    args.push('--tmpfs', `${CONTAINER_PATHS.pgdataMount}:rw,size=${settings.tmpfsLimitBytes},mode=0700`)
    args.push('--env', `ROTV_TMPFS_BYTES=${settings.tmpfsLimitBytes}`)
    await mkdir(settings.clusterCacheDir, { recursive: true, mode: 0o700 })
    args.push('--volume', `${settings.clusterCacheDir}:${CONTAINER_PATHS.clusterCache}:z`)
  } else {
    await preparePersistentDir(engine, settings.persistentDir!)
    args.push('--volume', `${settings.persistentDir}:${CONTAINER_PATHS.pgdataMount}:Z`)
  }
  if (opts.snapshot) {
    const s = opts.snapshot
    args.push('--volume', `${s.file}:${CONTAINER_PATHS.snapshotFile}:ro,z`)
    args.push('--env', `ROTV_SNAPSHOT_NAME=${s.name}`, '--env', `ROTV_SNAPSHOT_SHA256=${s.sha256}`, '--env', `ROTV_SNAPSHOT_SQL_BYTES=${s.sqlBytes}`)
    if (s.serverVersion) args.push('--env', `ROTV_SNAPSHOT_SERVER_VERSION=${s.serverVersion}`)
    if (s.pgDumpVersion) args.push('--env', `ROTV_SNAPSHOT_PG_DUMP_VERSION=${s.pgDumpVersion}`)
  }
  args.push('--volume', `${secretsFile}:${CONTAINER_PATHS.secretsFile}:ro,Z`)
  // The supervisor (root in the container: this user under rootless podman) opens these logs, so the
  // host side can read them; in the data home they outlive the container, as the host runtime's do.
  const logDir = join(settings.home, 'logs', 'container')
  await mkdir(logDir, { recursive: true, mode: 0o700 })
  args.push('--volume', `${logDir}:${CONTAINER_PATHS.logDir}:z`)
  args.push(settings.image)

  const state: ContainerState = {
    runtime: 'container',
    engine: engine.name,
    name: settings.name,
    image: settings.image,
    startedAt: new Date().toISOString(),
    mode,
    appPort: settings.appPort,
    pgPort: settings.pgPort,
    dbName: settings.dbName,
    publishAddress: settings.publishAddress,
    dataDir: settings.persistentDir,
    snapshot: opts.snapshot ? { name: opts.snapshot.name, sha256: opts.snapshot.sha256 } : undefined,
    logs: { dir: logDir, postgres: join(logDir, basename(CONTAINER_PATHS.postgresLog)), spare: join(logDir, basename(CONTAINER_PATHS.spareLog)) },
    readiness: settings.app?.readiness,
  }
  let created = false
  try {
    progress(`starting container ${settings.name} (${settings.image}, ${mode === 'dev' ? 'in-memory data' : `data in ${settings.persistentDir}`})`)
    // Set before the call: a Ctrl-C can kill the client after the engine already created the container.
    created = true
    const run = await runEngine(engine, args, { signal: opts.signal })
    if (run.code !== 0) {
      throw new ContainerStartError(`${engine.name} run failed: ${`${run.stderr}${run.stdout}`.trim().split('\n').slice(-6).join(' ')}`, {
        fix: containerRunFix(engine, `${run.stderr}${run.stdout}`),
      })
    }
    await writeContainerState(settings.home, state)
    const url = `http://localhost:${settings.appPort}`
    const readiness = settings.app?.readiness ?? { http: '/', status: 200 }
    const path = 'http' in readiness ? readiness.http : undefined
    progress(`waiting for ${path ? `${url}${path}` : describeReadiness(readiness, settings.appPort)} (the container imports the snapshot or copies the warm cluster first)`)
    const waitOptions = {
      timeoutMs: opts.healthTimeoutMs ?? 300_000,
      signal: opts.signal,
      died: async () => {
        const st = await inspectContainer(engine, settings.name)
        if (st?.running) return undefined
        return `the container stopped (exit code ${st?.exitCode ?? '?'}); its last lines:\n${await logTail(engine, settings.name)}`
      },
      logHint: `see its output: npx tsx Taskfile.ts logs   (or ${engine.name} logs ${settings.name})`,
    }
    // http: asked where the app is published; tcp and command readiness on this machine's loopback
    const health = path
      ? await waitForHealth({ url: `http://${settings.publishAddress === '0.0.0.0' ? '127.0.0.1' : settings.publishAddress}:${settings.appPort}${path}`, status: 'status' in readiness ? readiness.status : undefined, ...waitOptions })
      : ((await waitForReady({ readiness, port: settings.appPort, ...waitOptions })).health ?? { status: 'ready' })
    const inside = await readInsideState(engine, settings.name)
    if (inside) state.prepared = inside.prepared
    await writeContainerState(settings.home, state)
    return { url, health, state, notices }
  } catch (err) {
    if (created) {
      // Nothing half-started stays behind; the error carries the container's own last lines.
      await runEngine(engine, ['rm', '--force', '--time', '5', settings.name]).catch(() => undefined)
      await clearContainerState(settings.home)
    }
    throw err
  } finally {
    // The supervisor read it before starting the app; from here on the secrets exist only in the app's memory.
    await rm(secretsFile, { force: true })
  }
}

export interface ContainerStopResult {
  wasRunning: boolean
  mode?: 'dev' | 'persistent'
}

/** `podman stop` (SIGTERM: the supervisor stops the app, then PostgreSQL cleanly), then remove it. */
export async function stopContainer(home: string, timeoutSeconds = 60): Promise<ContainerStopResult> {
  // A start that was killed outright (SIGKILL, power loss) never reached its cleanup: no secret stays on disk.
  const runDir = join(home, 'run')
  for (const f of await readdir(runDir).catch(() => [] as string[])) {
    if (/^container-secrets-[0-9a-f]+\.env$/.test(f)) await rm(join(runDir, f), { force: true })
  }
  const state = await readContainerState(home)
  if (!state) return { wasRunning: false }
  const engine = await requireEngine()
  const before = await inspectContainer(engine, state.name)
  if (before) {
    if (before.running) await runEngine(engine, ['stop', '--time', String(timeoutSeconds), state.name])
    await runEngine(engine, ['rm', '--force', state.name])
  }
  await clearContainerState(home)
  return { wasRunning: Boolean(before?.running), mode: state.mode }
}

export interface ContainerStatus {
  running: boolean
  state?: ContainerState
  container?: { running: boolean; status: string; startedAt?: string; exitCode?: number }
  app: { healthy: boolean; health?: HealthBody; reason?: string }
  inside?: ContainerRunState
  /** As the host runtime's status: through the published PG_PORT. */
  postgres?: { reachable: boolean; databaseBytes?: number }
  /** Dev mode: a spare copy is ready, so the next reset is renames only. */
  spareReady?: boolean
}

export async function containerStatus(home: string): Promise<ContainerStatus> {
  const state = await readContainerState(home)
  if (!state) return { running: false, app: { healthy: false } }
  const engine = await requireEngine()
  const container = await inspectContainer(engine, state.name)
  const health = container?.running ? await probe({ readiness: state.readiness ?? { http: '/', status: 200 }, port: state.appPort }) : undefined
  const inside = container?.running ? await readInsideState(engine, state.name) : undefined
  const dbName = state.dbName ?? inside?.dbName
  const row = container?.running && state.pgPort && dbName
    ? await query<{ size: string; spare: boolean }>(
        serverConnection({ port: state.pgPort }),
        'SELECT pg_database_size($1)::text AS size, EXISTS (SELECT 1 FROM pg_database WHERE datname = $2) AS spare',
        [dbName, spareName(dbName)],
      )
        .then((rows) => rows[0])
        .catch(() => undefined)
    : undefined
  return {
    running: Boolean(container?.running),
    state,
    container: container ?? undefined,
    app: { healthy: health?.ok ?? false, health: health?.ok ? health.body : undefined, reason: health && !health.ok ? health.reason : undefined },
    inside,
    postgres: state.pgPort ? { reachable: Boolean(row), databaseBytes: row ? Number(row.size) : undefined } : undefined,
    spareReady: state.mode === 'dev' && row ? row.spare : undefined,
  }
}

/** Put the pristine snapshot data back (dev mode), inside the running container. */
export async function resetContainer(home: string): Promise<{ durationMs: number; dbName: string; via: 'spare' | 'copy' }> {
  const state = await readContainerState(home)
  const engine = state ? await requireEngine() : undefined
  if (!state || !engine || !(await inspectContainer(engine, state.name))?.running) {
    throw new ContainerNotRunningError('nothing to reset: the container is not running', { fix: 'run `npx tsx Taskfile.ts start`' })
  }
  if (state.mode !== 'dev') {
    throw new RotvError('reset is for the throwaway dev database; this container keeps persistent data (PERSISTENT_DATA=true)', {
      fix: 'to start over in persistent mode, stop it and empty DATA_DIR yourself',
    })
  }
  const r = await runEngine(engine, ['exec', state.name, '/usr/bin/node', '--import', 'tsx', 'lib/container/reset-inside.ts'])
  if (r.code !== 0) throw new RotvError(`reset inside ${state.name} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`, { fix: 'npx tsx Taskfile.ts stop start   (a fresh start is always a clean slate)' })
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { durationMs: number; dbName: string; via: 'spare' | 'copy' }
}

/** Arguments for `<engine> logs ...` of the running environment (the task streams it to the terminal). */
export async function containerLogsCommand(home: string, opts: { lines: number; follow: boolean }): Promise<{ engine: string; args: string[]; postgresLog?: string }> {
  const state = await readContainerState(home)
  if (!state) throw new ContainerNotRunningError('no container environment has been started', { fix: 'run `npx tsx Taskfile.ts start`' })
  return { engine: state.engine, args: ['logs', '--tail', String(opts.lines), ...(opts.follow ? ['--follow'] : []), state.name], postgresLog: state.logs?.postgres }
}

/**
 * --foreground: the container's output on this terminal until the container exits or `signal` aborts
 * (Ctrl-C). Then the container is stopped while its output still shows (the supervisor's shutdown lines):
 * the follower runs in its own process group, so the terminal's Ctrl-C does not end it early.
 */
export async function followAndStop(home: string, signal: AbortSignal): Promise<ContainerStopResult> {
  const cmd = await containerLogsCommand(home, { lines: 0, follow: true })
  const child = spawn(cmd.engine, cmd.args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true })
  const closed = new Promise<void>((resolve) => {
    child.once('error', () => resolve())
    child.once('close', () => resolve())
  })
  await Promise.race([closed, new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })))])
  const stopped = await stopContainer(home)
  // `logs --follow` ends with the container; a short grace for its last lines, then it goes regardless.
  await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))])
  if (child.exitCode === null) child.kill('SIGTERM')
  return stopped
}

async function preparePersistentDir(engine: Engine, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  if (!engine.rootless) return // rootful: the entrypoint (container root = host root) chowns it to 70:70
  // Rootless: container UID 70 is a subordinate uid on the host; only a process inside the user
  // namespace can hand the directory to it.
  const r = await runPlain('podman', ['unshare', 'chown', '70:70', dir])
  if (r.code !== 0) {
    throw new ContainerStartError(`podman unshare chown 70:70 ${dir} failed: ${r.stderr.trim()}`, {
      fix: 'rootless podman needs uidmap and /etc/subuid, /etc/subgid ranges for your user (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER)',
    })
  }
}

interface InspectResult {
  running: boolean
  status: string
  startedAt?: string
  exitCode?: number
}

async function inspectContainer(engine: Engine, name: string): Promise<InspectResult | undefined> {
  const r = await runEngine(engine, ['container', 'inspect', '--format', '{{.State.Running}}|{{.State.Status}}|{{.State.StartedAt}}|{{.State.ExitCode}}', name])
  if (r.code !== 0) return undefined
  const [running, status, startedAt, exitCode] = r.stdout.trim().split('|')
  return { running: running === 'true', status: status ?? '', startedAt, exitCode: exitCode === undefined ? undefined : Number(exitCode) }
}

async function readInsideState(engine: Engine, name: string): Promise<ContainerRunState | undefined> {
  const r = await runEngine(engine, ['exec', name, 'cat', CONTAINER_PATHS.runState])
  if (r.code !== 0) return undefined
  try {
    return JSON.parse(r.stdout) as ContainerRunState
  } catch {
    return undefined
  }
}

async function logTail(engine: Engine, name: string): Promise<string> {
  const r = await runEngine(engine, ['logs', '--tail', '15', name])
  return `${r.stdout}${r.stderr}`.trim()
}

/** dotenv text; single quotes keep a value literal (no $ or \n expansion), backticks when it holds one. */
function renderDotenv(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (v.includes('\n')) throw new RotvError(`${k} contains a line break, which an env file cannot carry`, { fix: `remove the line break from ${k}` })
      const quote = !v.includes("'") ? "'" : !v.includes('`') ? '`' : '"'
      return `${k}=${quote}${v}${quote}\n`
    })
    .join('')
}
