// The database half of the lifecycle, shared by the host runtime and the container entrypoint:
// get a running PostgreSQL whose app database holds the snapshot with every migration applied.
//
// Dev mode, warm: a cleanly stopped cluster that already holds this snapshot + migrations (keyed by
// snapshot sha256, PostgreSQL version and migrations digest) is copied into memory and started.
// Dev mode, cold: initdb in memory, import the snapshot with the loader, apply migrations, keep a
// pristine template copy for `reset` (no one may connect to it), stop cleanly, stage the small files of
// the cluster aside, start again. The warm cache entry is written afterwards, off the critical path, by
// saveWarmCluster (from the stage and the untouched pristine template), while the app starts and runs.
// Persistent mode: the cluster in DATA_DIR is kept as it is; only a new, empty cluster is seeded from
// the snapshot; migrations are applied on every start. A snapshot never overwrites persistent data.
import type { Readable } from 'node:stream'
import { createHash, type Hash } from 'node:crypto'
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { RotvError } from '../errors.ts'
import { loadDump, type LoadProgress } from '../loader/index.ts'
import { run, tail } from '../process/index.ts'
import { applyMigrations, migrationsDigest } from '../migrations.ts'
import {
  checkFits,
  clusterCacheKey,
  cloneDatabaseFromTemplate,
  createDatabases,
  databaseOids,
  forbidConnections,
  initCluster,
  pruneClusters,
  restoreCluster,
  saveStagedCluster,
  stageCluster,
  startServer,
  type CacheEntryInfo,
  type PgBinaries,
  type RunningServer,
  type StagedCluster,
} from '../postgres/index.ts'

/** What brings the app's schema up to date after the snapshot is loaded. */
export type MigrationStep =
  /** Numbered .sql files, run by the engine's runner (recorded in schema_migrations). */
  | { kind: 'sql'; dir: string }
  /** The app's own migrator, with the database in PG* and DATABASE_URL; `inputs` key the warm-cluster cache. */
  | { kind: 'command'; command: string; args: string[]; cwd: string; env: Record<string, string>; inputs: string[] }

/** A verified snapshot, ready to be read as plain SQL. */
export interface SnapshotHandle {
  name: string
  sha256: string
  /** Size of the plain SQL (uncompressed), for the space estimate. */
  sqlBytes: number
  /** "-- Dumped from database version" / "-- Dumped by pg_dump version" of the dump, when known. */
  serverVersion?: string | null
  pgDumpVersion?: string | null
  open(): Promise<Readable>
}

export class SnapshotTooNewError extends RotvError {}

export interface PrepareOptions {
  binaries: PgBinaries
  pgdata: string
  mode: 'dev' | 'persistent'
  port: number
  runAs?: string
  logFile: string
  dbName: string
  /** Further empty databases the original setup created (rotv_test). */
  extraDatabases: string[]
  /** The app's migration step; undefined for the database alone (start --db-only) or an app that migrates itself. */
  migrations?: MigrationStep
  /** Needed in dev mode, and in persistent mode when the cluster is new. */
  snapshot?: SnapshotHandle
  /** Dev mode: where warm clusters are kept (the data home's clusters/). */
  cacheDir?: string
  /** Dev mode: where a cold start stages the cluster for saveWarmCluster. Default: next to pgdata. */
  stageDir?: string
  /**
   * Dev mode, warm start: copy the pristine template while the server starts (and the caller boots the
   * app), instead of before; PreparedDatabase.pristineReady says when it is there.
   */
  deferPristine?: boolean
  /** Dev mode: the in-memory limit (TMPFS_SIZE) in bytes. */
  limitBytes?: number
  signal?: AbortSignal
  onProgress?: (message: string) => void
}

export interface PreparedDatabase {
  server: RunningServer
  prepared: 'imported' | 'warm' | 'kept'
  /** Template database `reset` copies from (dev mode). */
  pristineDb?: string
  migrationsApplied: string[]
  notices: string[]
  load?: { rows: Record<string, number>; durationMs: number; bytes: number }
  /** Dev mode, cold start with a cache: the warm cluster still to be written, by saveWarmCluster. */
  warmSave?: PendingWarmSave
  /** deferPristine: resolves once the pristine template is in place (reset needs it; nothing else does). */
  pristineReady?: Promise<void>
}

/** A warm cache entry staged by a cold start (plain data: the host runtime hands it to another process). */
export interface PendingWarmSave {
  staged: StagedCluster
  cacheDir: string
  key: string
}

/** Room an import takes, from the plain dump size: data + indexes, the pristine copy, and the spare copy for reset. */
export const SPACE_FACTOR = 3.2

export function pristineName(dbName: string): string {
  return `${dbName}_pristine`
}

export async function prepareDatabase(opts: PrepareOptions): Promise<PreparedDatabase> {
  if (opts.snapshot) assertLoadable(opts.snapshot, opts.binaries)
  return opts.mode === 'dev' ? prepareDev(opts) : preparePersistent(opts)
}

/**
 * A dump from a newer PostgreSQL (server or pg_dump) can use syntax and features an older server lacks;
 * say so before importing, instead of failing half-way through.
 */
export function assertLoadable(snapshot: SnapshotHandle, binaries: PgBinaries): void {
  const local = binaries.version.major
  const newer = [
    { what: 'PostgreSQL', version: snapshot.serverVersion },
    { what: 'pg_dump', version: snapshot.pgDumpVersion },
  ].find((v) => v.version && Number(/^(\d+)/.exec(v.version)?.[1]) > local)
  if (!newer) return
  const major = Number(/^(\d+)/.exec(newer.version!)?.[1])
  throw new SnapshotTooNewError(
    `snapshot "${snapshot.name}" was made by ${newer.what} ${newer.version}, newer than the local PostgreSQL ${binaries.version.full}`,
    { fix: `set PG_BIN_DIR to PostgreSQL ${major} server binaries (e.g. /usr/lib/postgresql/${major}/bin), or pull the snapshot with a pg_dump of version ${local}` },
  )
}

async function prepareDev(opts: PrepareOptions): Promise<PreparedDatabase> {
  const snapshot = opts.snapshot
  if (!snapshot) throw new Error('dev mode needs a snapshot')
  const notices: string[] = []
  const pristineDb = pristineName(opts.dbName)
  const progress = opts.onProgress ?? (() => {})
  // No migration step is its own key: a --db-only cluster never stands in for a migrated one. An app that
  // migrates itself at boot gets this key too: what is cached is the snapshot as loaded, which is exactly
  // what such an app starts from (it migrates the in-memory copy, never the cache entry).
  const digest = opts.migrations ? await migrationStepDigest(opts.migrations) : 'no-migrations'
  const key = clusterCacheKey({ snapshotSha256: snapshot.sha256, pgVersion: opts.binaries.version.full, migrationsDigest: digest })

  if (opts.cacheDir) {
    progress('looking for a warm cluster of this snapshot')
    const restored = await restoreCluster({ cacheDir: opts.cacheDir, key, pgdata: opts.pgdata, runAs: opts.runAs, limitBytes: opts.limitBytes, signal: opts.signal, deferTemplates: opts.deferPristine })
    if (restored.hit) {
      progress(`copied the warm cluster into memory (${Math.round(restored.bytes / 1024 / 1024)} MB); starting PostgreSQL`)
      try {
        const server = await start(opts)
        return { server, prepared: 'warm', pristineDb, migrationsApplied: [], notices, pristineReady: restored.templatesRestored }
      } catch (err) {
        await restored.templatesRestored?.catch(() => {})
        throw err
      }
    }
    if (restored.notice) notices.push(restored.notice)
  }

  await checkFits({ dir: join(opts.pgdata, '..'), neededBytes: Math.ceil(snapshot.sqlBytes * SPACE_FACTOR), limitBytes: opts.limitBytes })
  progress('initializing an in-memory cluster')
  await initCluster({ binaries: opts.binaries, pgdata: opts.pgdata, runAs: opts.runAs, mode: 'dev', skeletonDir: opts.cacheDir, signal: opts.signal })
  let server = await start(opts)
  try {
    await createDatabases(server.connection(), [opts.dbName, ...opts.extraDatabases])
    const load = await importSnapshot(server, opts.dbName, snapshot, opts.signal, progress)
    const migrations = await migrate(server, opts)
    progress('keeping a pristine copy for reset')
    await cloneDatabaseFromTemplate(server.connection(), { template: opts.dbName, target: pristineDb })
    // Nothing may write the template's files: the warm cache entry is read from them after the app starts.
    await forbidConnections(server.connection(), pristineDb)
    let warmSave: PendingWarmSave | undefined
    if (opts.cacheDir) {
      progress('staging the warm cluster (it is saved in the background)')
      const oids = await databaseOids(server.connection(), [opts.dbName, pristineDb])
      await server.stop('fast')
      const staged = await stageCluster({
        pgdata: opts.pgdata,
        stageDir: opts.stageDir ?? join(dirname(opts.pgdata), 'warm-stage'),
        stable: `base/${oids.get(pristineDb)}`,
        aliases: [`base/${oids.get(opts.dbName)}`],
      })
      warmSave = { staged, cacheDir: opts.cacheDir, key }
      server = await start(opts)
    }
    return { server, prepared: 'imported', pristineDb, migrationsApplied: migrations, notices, load, warmSave }
  } catch (err) {
    // Nothing half-imported is left running as if it were fine.
    await server.stop('immediate').catch(() => {})
    throw err
  }
}

async function preparePersistent(opts: PrepareOptions): Promise<PreparedDatabase> {
  const progress = opts.onProgress ?? (() => {})
  const notices: string[] = []
  const init = await initCluster({ binaries: opts.binaries, pgdata: opts.pgdata, runAs: opts.runAs, mode: 'persistent', signal: opts.signal })
  const server = await start(opts)
  try {
    const created = await createDatabases(server.connection(), [opts.dbName, ...opts.extraDatabases])
    let load: PreparedDatabase['load']
    if (init.initialized || created.includes(opts.dbName)) {
      if (opts.snapshot) load = await importSnapshot(server, opts.dbName, opts.snapshot, opts.signal, progress)
      else notices.push(`the new database ${opts.dbName} starts empty (no snapshot); migrations create the schema`)
    } else {
      progress(`keeping the existing data in ${opts.pgdata}`)
    }
    const migrations = await migrate(server, opts)
    return { server, prepared: load ? 'imported' : 'kept', migrationsApplied: migrations, notices, load }
  } catch (err) {
    await server.stop('fast').catch(() => {})
    throw err
  }
}

/**
 * Write a cold start's warm cache entry (then drop old entries and the stage). Runs while the app is up;
 * safe to abort (the partial entry is removed). A change to the pristine template is refused, not cached.
 */
export async function saveWarmCluster(save: PendingWarmSave, signal?: AbortSignal): Promise<CacheEntryInfo> {
  try {
    const entry = await saveStagedCluster(save.staged, { cacheDir: save.cacheDir, key: save.key, signal })
    // Old entries (other snapshots, older migrations) are kept a while for switching back and forth.
    await pruneClusters({ cacheDir: save.cacheDir, keep: 3 }).catch(() => [])
    return entry
  } finally {
    await rm(save.staged.stageDir, { recursive: true, force: true })
  }
}

/** Drop the scratch directory of a dev cluster (after its server stopped). */
export async function discardDevData(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

function start(opts: PrepareOptions): Promise<RunningServer> {
  return startServer({ binaries: opts.binaries, pgdata: opts.pgdata, port: opts.port, runAs: opts.runAs, logFile: opts.logFile, signal: opts.signal })
}

async function importSnapshot(
  server: RunningServer,
  dbName: string,
  snapshot: SnapshotHandle,
  signal: AbortSignal | undefined,
  progress: (m: string) => void,
): Promise<PreparedDatabase['load']> {
  progress(`importing snapshot ${snapshot.name}`)
  const input = await snapshot.open()
  const result = await loadDump({
    connection: server.connection(dbName),
    input,
    sizeHint: snapshot.sqlBytes > 0 ? snapshot.sqlBytes : undefined,
    signal,
    onProgress: (p: LoadProgress) => progress(describeLoad(snapshot, p)),
  })
  return { rows: result.rows, durationMs: result.durationMs, bytes: result.bytes }
}

async function migrate(server: RunningServer, opts: PrepareOptions): Promise<string[]> {
  const step = opts.migrations
  if (!step) return []
  if (step.kind === 'command') return runMigrationCommand(step, opts)
  const client = new pg.Client(server.connection(opts.dbName))
  await client.connect()
  try {
    const result = await applyMigrations(client, step.dir, { onApplied: (m) => opts.onProgress?.(`applied migration ${m.id}`) })
    return result.applied
  } finally {
    await client.end().catch(() => {})
  }
}

async function runMigrationCommand(step: Extract<MigrationStep, { kind: 'command' }>, opts: PrepareOptions): Promise<string[]> {
  const shown = [step.command, ...step.args].join(' ')
  opts.onProgress?.(`migrating: ${shown}`)
  const result = await run(step.command, step.args, {
    cwd: step.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG ?? 'C.UTF-8', ...step.env, ...databaseEnv(opts.port, opts.dbName) },
    secrets: Object.values(step.env),
    signal: opts.signal,
    nothrow: true,
  })
  if (!result.ok) {
    throw new MigrationCommandError(`the migration command failed (${result.cancelled ? 'cancelled' : `exit code ${result.exitCode}`}): ${shown}: ${tail(result.stderr || result.stdout)}`, {
      fix: `fix the migration, or run it by hand against the running database to see the whole error (cd ${step.cwd} && ${shown})`,
    })
  }
  return [shown]
}

export class MigrationCommandError extends RotvError {}

/** The database as the app and its tools read it: PG* variables and DATABASE_URL, on 127.0.0.1. */
export function databaseEnv(port: number, dbName: string): Record<string, string> {
  return {
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: 'postgres',
    PGDATABASE: dbName,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(dbName)}`,
  }
}

/** Changes whenever what the migration step does may change: its SQL files, or its command and inputs. */
async function migrationStepDigest(step: MigrationStep): Promise<string> {
  if (step.kind === 'sql') return migrationsDigest(step.dir)
  const hash = createHash('sha256').update(JSON.stringify([step.command, step.args]))
  for (const input of step.inputs) await hashTree(hash, input)
  return hash.digest('hex')
}

async function hashTree(hash: Hash, path: string): Promise<void> {
  const st = await stat(path).catch(() => undefined)
  hash.update(`\0${path}\0`)
  if (!st) return void hash.update('missing')
  if (st.isFile()) return void hash.update(await readFile(path))
  if (!st.isDirectory()) return
  for (const name of (await readdir(path)).sort()) {
    if (name === 'node_modules' || name === '.git') continue
    await hashTree(hash, join(path, name))
  }
}

function describeLoad(snapshot: SnapshotHandle, p: LoadProgress): string {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`
  const pct = snapshot.sqlBytes > 0 ? ` (${Math.min(100, Math.round((p.bytesRead / snapshot.sqlBytes) * 100))}%)` : ''
  return `importing ${snapshot.name}: ${p.phase}, ${p.tablesDone} tables, ${p.rows.toLocaleString('en-US')} rows, ${mb(p.bytesRead)}${pct}`
}
