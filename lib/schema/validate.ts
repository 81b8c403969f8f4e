// validate-schema's engine: does production's schema (as a snapshot holds it) match what the app's
// migrations build, and what would the pending migrations change?
//
// Three schemas are built in throwaway databases on one throwaway server (same PostgreSQL, so the
// deparsed definitions are comparable):
//   snapshot           the snapshot's schema (its table data left out, the migrations table's rows kept)
//   snapshot_migrated  a copy of it with the pending migrations applied (what the next deploy makes)
//   migrations         every migration applied to an empty database
// snapshot_migrated vs migrations = true drift (nothing in the repository explains or fixes it);
// snapshot vs migrations, less the drift = what the pending migrations will change ("pending").
import { dirname } from 'node:path'
import pg from 'pg'
import { loadDump } from '../loader/index.ts'
import { applyMigrations, listMigrations, MigrationError } from '../migrations.ts'
import { checkFits, cloneDatabaseFromTemplate, createDatabases } from '../postgres/index.ts'
import { assertLoadable, SPACE_FACTOR, type SnapshotHandle } from '../runtime/database.ts'
import { readSchema, type SchemaModel } from './catalog.ts'
import { compareSchemas, differenceKey, type SchemaDifference } from './compare.ts'
import { migrationStatus, type MigrationStatus } from './migration-status.ts'
import { startScratchServer } from './scratch-server.ts'
import { schemaOnly } from './schema-only.ts'

export interface ValidateSchemaOptions {
  snapshot: SnapshotHandle
  /** The app's migrations (app/migrations). */
  migrationsDir: string
  /** PG_BIN_DIR for the throwaway server; default the embedded PostgreSQL. */
  pgBinDir?: string
  /** PG_RUN_AS (only used when root). */
  runAs?: string
  /** Import the snapshot's table data too (slower; the schema does not depend on it). Default false. */
  withData?: boolean
  /** With withData: the in-memory limit (TMPFS_SIZE) the two copies of the data must fit in. */
  limitBytes?: number
  signal?: AbortSignal
  onProgress?: (message: string) => void
  /** Told where the throwaway server lives once it runs (for a verbose caller, and for tests that check it is gone). */
  onScratchServer?: (info: { dir: string; port: number; pid: number }) => void
}

export interface SchemaValidation {
  snapshot: { name: string; sha256: string }
  /** No drift, and no migration applied on production that the repository lacks. Pending ones are fine. */
  ok: boolean
  /** Production differs from the migrations, and applying the pending migrations would not change that. */
  drift: SchemaDifference[]
  /** Differences the pending migrations remove when they are applied to production. */
  pending: SchemaDifference[]
  migrations: MigrationStatus
  /** A pending migration failed on production's schema: drift then holds every difference, unsorted into pending. */
  pendingFailure?: { message: string }
  /** The PostgreSQL the schemas were built on. */
  postgresVersion: string
  /** Objects compared on each side. */
  objects: { production: number; migrations: number }
}

const DB = { snapshot: 'snapshot', migrated: 'snapshot_migrated', migrations: 'migrations' } as const

export async function validateSchema(opts: ValidateSchemaOptions): Promise<SchemaValidation> {
  const progress = opts.onProgress ?? (() => {})
  const repository = await listMigrations(opts.migrationsDir)
  progress('starting a throwaway PostgreSQL')
  const scratch = await startScratchServer({ binDir: opts.pgBinDir, runAs: opts.runAs, signal: opts.signal })
  try {
    opts.onScratchServer?.({ dir: scratch.dir, port: scratch.server.port, pid: scratch.server.pid })
    assertLoadable(opts.snapshot, scratch.binaries)
    const { server } = scratch
    // Without data the schema takes next to no room; with it, the snapshot and its migrated copy do.
    if (opts.withData) await checkFits({ dir: dirname(scratch.dir), neededBytes: Math.ceil(opts.snapshot.sqlBytes * SPACE_FACTOR * 2), limitBytes: opts.limitBytes })
    await createDatabases(server.connection(), [DB.snapshot, DB.migrations])

    progress(`loading the schema of snapshot "${opts.snapshot.name}"`)
    const input = await opts.snapshot.open()
    await loadDump({
      connection: server.connection(DB.snapshot),
      input: opts.withData ? input : schemaOnly(input),
      sizeHint: opts.snapshot.sqlBytes > 0 ? opts.snapshot.sqlBytes : undefined,
      signal: opts.signal,
      onProgress: (p) => progress(`loading the schema of snapshot "${opts.snapshot.name}": ${p.phase}, ${p.statements} statements`),
    })
    const status = await withClient(server.connection(DB.snapshot), (c) => migrationStatus(c, repository))

    progress(`applying ${repository.length} migrations to an empty database`)
    await applyMigrations(server.connection(DB.migrations), opts.migrationsDir)

    let pendingFailure: SchemaValidation['pendingFailure']
    let migrated: SchemaModel | undefined
    if (status.pending.length) {
      progress(`applying the ${status.pending.length} pending migrations to a copy of the snapshot's schema`)
      await cloneDatabaseFromTemplate(server.connection(), { template: DB.snapshot, target: DB.migrated })
      try {
        await applyMigrations(server.connection(DB.migrated), opts.migrationsDir)
        migrated = await withClient(server.connection(DB.migrated), readSchema)
      } catch (err) {
        if (!(err instanceof MigrationError)) throw err
        pendingFailure = { message: err.message }
      }
    }

    progress('comparing the schemas')
    const production = await withClient(server.connection(DB.snapshot), readSchema)
    const fromMigrations = await withClient(server.connection(DB.migrations), readSchema)
    const all = compareSchemas(production, fromMigrations)
    let drift = all
    let pending: SchemaDifference[] = []
    if (migrated) {
      drift = compareSchemas(migrated, fromMigrations)
      const remaining = new Set(drift.map(differenceKey))
      pending = all.filter((d) => !remaining.has(differenceKey(d)))
    }
    return {
      snapshot: { name: opts.snapshot.name, sha256: opts.snapshot.sha256 },
      ok: drift.length === 0 && status.missingFromRepository.length === 0 && !pendingFailure,
      drift,
      pending,
      migrations: status,
      ...(pendingFailure ? { pendingFailure } : {}),
      postgresVersion: scratch.binaries.version.full,
      objects: { production: production.objects.size, migrations: fromMigrations.objects.size },
    }
  } finally {
    progress('stopping the throwaway PostgreSQL')
    await scratch.dispose()
  }
}

async function withClient<T>(conn: pg.ClientConfig, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(conn)
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end().catch(() => {})
  }
}
