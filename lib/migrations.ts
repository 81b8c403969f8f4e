// Numbered SQL migrations (NNN_name.sql), applied in order and recorded in public.schema_migrations, so
// a snapshot imported from production gets exactly the migrations newer than itself and nothing twice.
// The engine calls applyMigrations() right after importing a snapshot; the demo generator uses
// listMigrations() to record the same checksums a real migrated database would hold.
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import pg from 'pg'
import { RotvError } from './errors.ts'

export interface Migration {
  /** File name without `.sql`, e.g. `001_initial`: what the migrations table records. */
  id: string
  /** The number the file name starts with; migrations run in this order. */
  version: number
  /** The part after the number, e.g. `initial`. */
  name: string
  file: string
  path: string
  sql: string
  /** sha256 (hex) of the file's bytes. */
  sha256: string
}

export interface ApplyResult {
  /** Ids applied by this call, in order. */
  applied: string[]
  /** Ids that were already recorded as applied. */
  skipped: string[]
  /** Applied migrations whose file changed since (never re-run), and recorded ids with no file. */
  warnings: string[]
}

export interface ApplyOptions {
  /** Called after each migration is applied (progress for the task runner). */
  onApplied?: (migration: Migration) => void
}

/** A pg client the caller owns, or how to connect (a connection string or pg config). */
export type Connectable = pg.Client | pg.ClientConfig | string

/** The table the applied migrations are recorded in. */
export const MIGRATIONS_TABLE = 'public.schema_migrations'

/** DDL of the migrations table, verbatim what applyMigrations() creates (the demo dump mirrors it). */
export const MIGRATIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS public.schema_migrations (
    id text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
)`

/** Serialises concurrent migrators (two dev servers on one database): an arbitrary fixed key. */
const ADVISORY_LOCK_KEY = 7_291_034_117

export class MigrationError extends RotvError {}

/** The migrations in `dir`, sorted by number. Files not named NNN_name.sql are ignored. */
export async function listMigrations(dir: string): Promise<Migration[]> {
  const root = resolve(dir)
  let names: string[]
  try {
    names = await readdir(root)
  } catch (err) {
    throw new MigrationError(`cannot read the migrations directory ${root}: ${(err as Error).message}`, {
      fix: 'point the runner at the app\'s migrations directory (app/migrations)',
      cause: err,
    })
  }
  const migrations: Migration[] = []
  for (const file of names) {
    const m = /^(\d+)_([A-Za-z0-9_.-]+)\.sql$/.exec(file)
    if (!m) continue
    const path = join(root, file)
    const bytes = await readFile(path)
    migrations.push({
      id: file.slice(0, -'.sql'.length),
      version: Number(m[1]),
      name: m[2]!,
      file,
      path,
      sql: bytes.toString('utf8'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
    })
  }
  migrations.sort((a, b) => a.version - b.version || a.id.localeCompare(b.id))
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new MigrationError(`two migrations share number ${migrations[i]!.version}: ${migrations[i - 1]!.file} and ${migrations[i]!.file}`, {
        fix: 'renumber one of them so every migration has its own number',
      })
    }
  }
  return migrations
}

/** sha256 over every migration's id and contents: changes whenever a migration is added or edited. */
export async function migrationsDigest(dir: string): Promise<string> {
  const hash = createHash('sha256')
  for (const m of await listMigrations(dir)) hash.update(`${m.id}\0${m.sha256}\n`)
  return hash.digest('hex')
}

/**
 * Applies every migration in `dir` not yet recorded, each in its own transaction, under an advisory
 * lock. A recorded migration whose file changed is reported in `warnings`, never re-run.
 */
export async function applyMigrations(db: Connectable, dir: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const migrations = await listMigrations(dir)
  return withClient(db, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY])
    try {
      await client.query(MIGRATIONS_TABLE_DDL)
      const recorded = await recordedChecksums(client)
      const result: ApplyResult = { applied: [], skipped: [], warnings: [] }
      for (const m of migrations) {
        const checksum = recorded.get(m.id)
        if (checksum !== undefined) {
          result.skipped.push(m.id)
          if (checksum !== m.sha256) {
            result.warnings.push(`${m.file} changed after it was applied (recorded sha256 ${checksum.slice(0, 12)}…, file ${m.sha256.slice(0, 12)}…); not re-run: put the change in a new migration`)
          }
          continue
        }
        await applyOne(client, m)
        result.applied.push(m.id)
        opts.onApplied?.(m)
      }
      const known = new Set(migrations.map((m) => m.id))
      for (const id of recorded.keys()) {
        if (!known.has(id)) result.warnings.push(`migration ${id} is recorded as applied but has no file in ${resolve(dir)}`)
      }
      return result
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY]).catch(() => {})
    }
  })
}

/** The migrations in `dir` not yet recorded as applied in the database (all of them on an empty one). */
export async function pendingMigrations(db: Connectable, dir: string): Promise<Migration[]> {
  const migrations = await listMigrations(dir)
  return withClient(db, async (client) => {
    const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('${MIGRATIONS_TABLE}')::text AS t`)
    if (!exists.rows[0]?.t) return migrations
    const recorded = await recordedChecksums(client)
    return migrations.filter((m) => !recorded.has(m.id))
  })
}

// ---------------------------------------------------------------------------------------------------

async function applyOne(client: pg.Client, m: Migration): Promise<void> {
  await client.query('BEGIN')
  try {
    // No parameters: the simple query protocol runs a multi-statement file in one round trip.
    await client.query(m.sql)
    await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (id, checksum) VALUES ($1, $2)`, [m.id, m.sha256])
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    const e = err as pg.DatabaseError
    const where = e.position ? ` (line ${lineOf(m.sql, Number(e.position))})` : ''
    throw new MigrationError(`migration ${m.file}${where} failed: ${e.message}`, {
      fix: `fix ${m.path} and start again; it was rolled back, and the migrations before it stay applied`,
      cause: err,
    })
  }
}

async function recordedChecksums(client: pg.Client): Promise<Map<string, string>> {
  const res = await client.query<{ id: string; checksum: string }>(`SELECT id, checksum FROM ${MIGRATIONS_TABLE} ORDER BY id`)
  return new Map(res.rows.map((r) => [r.id, r.checksum]))
}

async function withClient<T>(db: Connectable, work: (client: pg.Client) => Promise<T>): Promise<T> {
  if (db instanceof pg.Client) return work(db)
  const client = new pg.Client(typeof db === 'string' ? { connectionString: db } : db)
  try {
    await client.connect()
  } catch (err) {
    throw new MigrationError(`cannot connect to PostgreSQL to run migrations: ${(err as Error).message}`, {
      fix: 'check that the database server is running and the connection settings (PGHOST, PGPORT, PGUSER, PGDATABASE) are right',
      cause: err,
    })
  }
  try {
    return await work(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/** 1-based line of a 1-based character position, as PostgreSQL reports error positions. */
function lineOf(text: string, position: number): number {
  return text.slice(0, Math.max(0, position - 1)).split('\n').length
}
