// The host runtime: PostgreSQL and the app as background processes on this machine, no container
// engine needed. start/stop/status/reset/logs all go through here; the tasks only describe and order.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { RotvError } from '../errors.ts'
import {
  assertPortFree,
  createDevDataDir,
  resolveBinaries,
  resolveServerUser,
  serverConnection,
  serverStatus,
  spareName,
  stopServer,
  type PgBinaries,
} from '../postgres/index.ts'
import { processAlive as alive } from '../process/index.ts'
import type { AppLaunch } from '../project/launch.ts'
import { startApp, stopApp } from './app-process.ts'
import { ensureBuilt } from './build-step.ts'
import { databaseEnv, discardDevData, prepareDatabase, type MigrationStep, type PendingWarmSave, type SnapshotHandle } from './database.ts'
import type { HealthBody } from './health.ts'
import { describeReadiness, probe, readyLineText, waitForReady } from './readiness.ts'
import { resetToPristine, spawnSpareCopy, type SpareJob } from './spare.ts'
import { clearState, readState, writeState, type RunState } from './state.ts'
import { cleanUpInterruptedStart, clearStartRecord, findInterruptedStart, recordStart, type InterruptedStart } from './interrupted-start.ts'
import { cancelWarmSave, spawnWarmSave, waitForWarmSave, warmSaveRunning } from './warm-save-process.ts'

export interface HostSettings {
  /** Data home (~/.rotv): logs, run state, warm clusters. */
  home: string
  /** The app as the project file declares it; undefined for a database-only project. */
  app?: AppLaunch
  /** The app's migration step after the snapshot is loaded (none: the app migrates itself, or there is no app). */
  migrations?: MigrationStep
  pgPort: number
  appPort: number
  dbName: string
  extraDatabases: string[]
  pgBinDir?: string
  runAs?: string
  /** Set for persistent mode (PERSISTENT_DATA=true): the data directory. */
  persistentDir?: string
  tmpfsLimitBytes: number
  /** Variables the app gets in its environment (secrets included: never on a command line). */
  appEnv: Record<string, string>
}

export interface StartOptions {
  snapshot?: SnapshotHandle
  foreground?: boolean
  signal?: AbortSignal
  onProgress?: (message: string) => void
  healthTimeoutMs?: number
  /** Only the throwaway PostgreSQL with the snapshot: no app, no app migrations, no extra databases. */
  dbOnly?: boolean
}

export interface StartResult {
  url: string
  /** postgres:// on 127.0.0.1, for psql or any client. */
  databaseUrl: string
  /** The health answer's body (http readiness); undefined with dbOnly (no app to ask). */
  health?: HealthBody
  /** The project's ready line (e.g. row counts), when it declares one. */
  readyLine?: string
  state: RunState
  notices: string[]
  migrationsApplied: string[]
  /** Set in --foreground mode: resolves when the app exits. */
  exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export class AlreadyRunningError extends RotvError {}
export class NotRunningError extends RotvError {}

export async function startHost(settings: HostSettings, opts: StartOptions = {}): Promise<StartResult> {
  const progress = opts.onProgress ?? (() => {})
  const swept = await cleanUpInterruptedStart(settings.home)
  const existing = await readState(settings.home)
  if (existing && (alive(existing.appPid) || (await serverStatus(existing.pgdata)).running)) {
    throw new AlreadyRunningError(`the environment is already running (app at http://localhost:${existing.appPort}, started ${existing.startedAt})`, {
      fix: 'use it, or run `npx tsx Taskfile.ts stop` first (or `npx tsx Taskfile.ts stop start` to restart on a clean slate)',
    })
  }
  await assertPortFree(settings.appPort, 'APP_PORT')
  await assertPortFree(settings.pgPort, 'PG_PORT')
  const binaries = await resolveBinaries({ binDir: settings.pgBinDir, runAs: settings.runAs })
  const user = await resolveServerUser(settings.runAs)
  const logs = { postgres: join(settings.home, 'logs', 'postgres.log'), app: join(settings.home, 'logs', 'app.log'), warmSave: join(settings.home, 'logs', 'warm-save.log'), spare: join(settings.home, 'logs', 'spare.log') }
  await mkdir(join(settings.home, 'logs'), { recursive: true })

  const mode = settings.persistentDir ? 'persistent' : 'dev'
  const notices: string[] = swept ? [swept.message] : []
  let scratchDir: string | undefined
  let pgdata: string
  if (settings.persistentDir) pgdata = settings.persistentDir
  else {
    const dir = await createDevDataDir({ user })
    if (dir.notice) notices.push(dir.notice)
    scratchDir = dir.root
    pgdata = dir.pgdata
  }
  // Before anything is started: a runner killed from here on leaves a record the next command cleans up by.
  await recordStart(settings.home, { runnerPid: process.pid, startedAt: new Date().toISOString(), pgdata, scratchDir, pgPort: settings.pgPort, pgBinDir: binaries.binDir, runAs: settings.runAs })

  let appPid: number | undefined
  let pendingSave: PendingWarmSave | undefined
  let pristineReady: Promise<void> | undefined
  let pristineDone = false
  const cleanup = async () => {
    if (appPid) await stopApp(appPid).catch(() => {})
    // it copies into the scratch directory, which goes next
    await pristineReady?.catch(() => {})
    // A failed app start still leaves a good warm cluster, worth saving before it is thrown away
    // (Ctrl-C means leave now).
    if (pendingSave && !opts.signal?.aborted) {
      const save = await spawnWarmSave(pendingSave, logs.warmSave).catch(() => undefined)
      if (!(await waitForWarmSave(save))) await cancelWarmSave(save)
    }
    await stopServer({ pgdata, binaries, runAs: settings.runAs, mode: 'fast' }).catch(() => {})
    if (scratchDir) await discardDevData(scratchDir)
    await clearState(settings.home)
    await clearStartRecord(settings.home)
  }
  // The page builds while the database is prepared; its outcome is awaited before the app starts.
  const app = opts.dbOnly ? undefined : settings.app
  const frontend = (app?.build ? ensureBuilt(app.build, opts.signal) : Promise.resolve(false)).then(
    (built) => ({ built, error: undefined }),
    (error: unknown) => ({ built: false, error }),
  )
  try {
    const db = await prepareDatabase({
      binaries,
      pgdata,
      mode,
      port: settings.pgPort,
      runAs: settings.runAs,
      logFile: logs.postgres,
      dbName: settings.dbName,
      extraDatabases: opts.dbOnly ? [] : settings.extraDatabases,
      migrations: opts.dbOnly ? undefined : settings.migrations,
      snapshot: opts.snapshot,
      cacheDir: mode === 'dev' ? join(settings.home, 'clusters') : undefined,
      limitBytes: mode === 'dev' ? settings.tmpfsLimitBytes : undefined,
      // the template copy overlaps PostgreSQL's start and the app's boot; start returns once it is there
      deferPristine: true,
      signal: opts.signal,
      onProgress: progress,
    })
    pristineReady = db.pristineReady
    void pristineReady?.then(() => (pristineDone = true), () => {})
    notices.push(...db.notices)
    const state: RunState = {
      runtime: 'host',
      startedAt: new Date().toISOString(),
      mode,
      pgdata,
      scratchDir,
      pgPort: settings.pgPort,
      appPort: settings.appPort,
      dbName: settings.dbName,
      pristineDb: db.pristineDb,
      runAs: settings.runAs,
      pgBinDir: binaries.binDir,
      pgVersion: binaries.version.full,
      snapshot: opts.snapshot ? { name: opts.snapshot.name, sha256: opts.snapshot.sha256 } : undefined,
      logs,
      prepared: db.prepared,
      limitBytes: mode === 'dev' ? settings.tmpfsLimitBytes : undefined,
      dbOnly: !app || undefined,
      readiness: app?.readiness,
      readyLine: app?.readyLine,
      appCwd: app?.cwd,
    }
    pendingSave = db.warmSave
    await writeState(settings.home, state)
    await clearStartRecord(settings.home) // the run state covers it all from here

    const databaseUrl = databaseUrlOf(state)
    if (!app) {
      await pristineReady
      await afterReady(state)
      return { url: databaseUrl, databaseUrl, state, notices, migrationsApplied: [] }
    }
    const page = await frontend
    if (page.error) throw page.error
    if (page.built) notices.push(`ran the build step (${[app.build!.command, ...app.build!.args].join(' ')})`)
    progress('starting the app')
    const env = appEnvironment(settings)
    const child = await startApp({ command: app.command, args: app.args, cwd: app.cwd, env, logFile: logs.app, foreground: opts.foreground })
    appPid = child.pid
    state.appPid = child.pid
    await writeState(settings.home, state)
    let exitedWith: string | undefined
    void child.exited.then((e) => (exitedWith = `exit code ${e.code ?? e.signal}`))
    const url = `http://localhost:${settings.appPort}`
    progress(`waiting for ${describeReadiness(app.readiness, settings.appPort)}`)
    const { health } = await waitForReady({
      readiness: app.readiness,
      port: settings.appPort,
      env,
      cwd: app.cwd,
      timeoutMs: opts.healthTimeoutMs ?? 60_000,
      signal: opts.signal,
      died: () => exitedWith,
      logHint: `see the app's log: ${logs.app} (npx tsx Taskfile.ts logs)`,
    })
    if (pristineReady && !pristineDone) progress('finishing the pristine copy for reset')
    await pristineReady
    await afterReady(state)
    const readyLine = await readyLineText(app.readyLine, health, serverConnection({ port: settings.pgPort, database: settings.dbName })).catch(() => undefined)
    return { url, databaseUrl, health, readyLine, state, notices, migrationsApplied: db.migrationsApplied, exited: opts.foreground ? child.exited : undefined }
  } catch (err) {
    await frontend
    await cleanup()
    throw err
  }

  async function afterReady(state: RunState): Promise<void> {
    // Only now: the save process's own start-up (node, tsx) and its copying would slow the app's boot.
    if (pendingSave) {
      state.warmSave = { pid: (await spawnWarmSave(pendingSave, logs.warmSave)).pid }
      pendingSave = undefined
      await writeState(settings.home, state)
      notices.push(`saving the warm cluster in the background for the next start (log: ${logs.warmSave})`)
    }
    // the copy the first reset swaps in
    const spare = spareJob(state)
    if (spare) await spawnSpareCopy(spare, logs.spare)
  }
}

/** The running database as a postgres:// URL on 127.0.0.1 (the dev cluster trusts local connections). */
export function databaseUrlOf(state: Pick<RunState, 'pgPort' | 'dbName'>): string {
  return `postgres://postgres@127.0.0.1:${state.pgPort}/${encodeURIComponent(state.dbName)}`
}

export interface StopResult {
  wasRunning: boolean
  discarded?: string
  mode?: 'dev' | 'persistent'
  /** What an interrupted start had left, and that this stop cleaned up. */
  interrupted?: string
}

/** Stop the app and PostgreSQL; in dev mode the in-memory data is thrown away. Idempotent. */
export async function stopHost(home: string): Promise<StopResult> {
  const swept = await cleanUpInterruptedStart(home)
  const state = await readState(home)
  if (!state) return swept ? { wasRunning: swept.serverRunning, discarded: swept.record.scratchDir, interrupted: swept.message } : { wasRunning: false }
  let wasRunning = false
  if (state.appPid && (await stopApp(state.appPid))) wasRunning = true
  // it reads the in-memory cluster: let it finish (a second or two) so the next start is warm
  if (!(await waitForWarmSave(state.warmSave))) await cancelWarmSave(state.warmSave)
  if (existsSync(state.pgdata)) {
    const binaries = await binariesFor(state)
    const stopped = await stopServer({ pgdata: state.pgdata, binaries, runAs: state.runAs, mode: 'fast' })
    wasRunning ||= stopped.wasRunning
  }
  if (state.scratchDir) await discardDevData(state.scratchDir)
  await clearState(home)
  return { wasRunning, discarded: state.scratchDir, mode: state.mode }
}

export interface HostStatus {
  running: boolean
  state?: RunState
  app: { running: boolean; pid?: number; healthy: boolean; health?: HealthBody; readyLine?: string; reason?: string }
  postgres: { running: boolean; pid?: number; databaseBytes?: number }
  /** Dev mode: a spare copy is ready, so the next reset is renames only. */
  spareReady?: boolean
  /** A cold start's warm cluster is still being saved. */
  warmSaving?: boolean
  /** Not running, but a start was interrupted (its runner killed) and left this behind: stop cleans it up. */
  interrupted?: InterruptedStart
}

export async function hostStatus(home: string): Promise<HostStatus> {
  const state = await readState(home)
  if (!state) return { running: false, app: { running: false, healthy: false }, postgres: { running: false }, interrupted: await findInterruptedStart(home) }
  const pgStatus = existsSync(state.pgdata) ? await serverStatus(state.pgdata) : { running: false as const, pid: undefined }
  const appRunning = alive(state.appPid)
  const health = appRunning && state.readiness ? await probe({ readiness: state.readiness, port: state.appPort, cwd: state.appCwd }) : undefined
  let databaseBytes: number | undefined
  let spareReady: boolean | undefined
  if (pgStatus.running) {
    const row = await query<{ size: string; spare: boolean }>(
      serverConnection({ port: state.pgPort }),
      'SELECT pg_database_size($1)::text AS size, EXISTS (SELECT 1 FROM pg_database WHERE datname = $2) AS spare',
      [state.dbName, spareName(state.dbName)],
    )
      .then((rows) => rows[0])
      .catch(() => undefined)
    databaseBytes = row ? Number(row.size) : undefined
    spareReady = state.mode === 'dev' && row ? row.spare : undefined
  }
  return {
    running: appRunning || pgStatus.running,
    state,
    app: {
      running: appRunning,
      pid: state.appPid,
      healthy: health?.ok ?? false,
      health: health?.ok ? health.body : undefined,
      readyLine: health?.ok && pgStatus.running ? await readyLineText(state.readyLine, health.body, serverConnection({ port: state.pgPort, database: state.dbName })).catch(() => undefined) : undefined,
      reason: health && !health.ok ? health.reason : undefined,
    },
    postgres: { running: pgStatus.running, pid: pgStatus.pid, databaseBytes },
    spareReady,
    warmSaving: warmSaveRunning(state.warmSave?.pid),
  }
}

/** Put the pristine snapshot data back without restarting the app (dev mode). */
export async function resetHost(home: string): Promise<{ durationMs: number; dbName: string; via: 'spare' | 'copy' }> {
  const state = await readState(home)
  if (!state) throw new NotRunningError('nothing to reset: the environment is not running', { fix: 'run `npx tsx Taskfile.ts start`' })
  if (!(await serverStatus(state.pgdata)).running) {
    // The app may well still answer: "not running" would send the user to a start that clashes with it.
    throw new NotRunningError(`PostgreSQL of the running environment has stopped (its log: ${state.logs.postgres}), so there is nothing to reset`, {
      fix: 'start again on a clean slate: npx tsx Taskfile.ts stop start',
    })
  }
  if (state.mode !== 'dev' || !state.pristineDb) {
    throw new RotvError('reset is for the throwaway dev database; this environment keeps persistent data (PERSISTENT_DATA=true)', {
      fix: 'to start over in persistent mode, stop it and remove DATA_DIR yourself',
    })
  }
  const r = await resetToPristine(spareJob(state)!, state.logs.spare ?? join(home, 'logs', 'spare.log'))
  return { durationMs: r.durationMs, dbName: state.dbName, via: r.via }
}

function spareJob(state: RunState): SpareJob | undefined {
  if (state.mode !== 'dev' || !state.pristineDb) return undefined
  return { port: state.pgPort, dbName: state.dbName, pristineDb: state.pristineDb, pgdata: state.pgdata, limitBytes: state.limitBytes }
}

function appEnvironment(settings: HostSettings): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: process.env.LANG ?? 'C.UTF-8',
    NODE_ENV: settings.persistentDir ? 'production' : 'development',
    HOST: '127.0.0.1',
    PORT: String(settings.appPort),
    ...databaseEnv(settings.pgPort, settings.dbName),
    ...settings.appEnv,
  }
}

async function binariesFor(state: RunState): Promise<PgBinaries> {
  return resolveBinaries({ binDir: state.pgBinDir, runAs: state.runAs })
}

/** One query on a fresh connection (status: the running database, host or container runtime). */
export async function query<T>(conn: pg.ClientConfig, sql: string, params: unknown[]): Promise<T[]> {
  const client = new pg.Client(conn)
  await client.connect()
  try {
    return (await client.query(sql, params)).rows as T[]
  } finally {
    await client.end().catch(() => {})
  }
}
