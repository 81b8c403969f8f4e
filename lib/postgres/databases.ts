// Databases inside a running server: creating the app's databases, and the fast `reset` primitive.
//
// Reset = clone a pristine template database over the app's database with
// `CREATE DATABASE target TEMPLATE pristine STRATEGY FILE_COPY` (a file-level copy: ~0.8 s for a
// 320 MB database, against 2.6 s for WAL_LOG and 8 s for a logical import).
// What the app must tolerate during a reset: every connection to the target database is terminated
// (pg_terminate_backend, via DROP DATABASE ... WITH (FORCE)); for a few milliseconds the database does
// not exist, and queries in that window fail with 3D000 / 57P01. A node-postgres Pool discards a terminated client
// and opens a new one for the next query, so an app using a Pool recovers by itself; a single long-lived
// pg.Client does not, and must reconnect on its 'error' event. Requests in flight during the reset fail.
//
// A spare makes the reset itself size-independent: a copy of the template made ahead of time
// (makeSpare, in the background after a start or a reset) that nobody may connect to; resetFromSpare
// then only drops the target and renames the spare into place. The copy still happens, just not while
// someone waits for it. The spare is the third copy a reset always needed, kept instead of transient.
import pg from 'pg'

/** Create each database that does not exist yet (idempotent). */
export async function createDatabases(conn: pg.ClientConfig, names: string[]): Promise<string[]> {
  return withClient(maintenance(conn, names), async (client) => {
    const created: string[] = []
    for (const name of names) {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
      if (exists.rowCount) continue
      await client.query(`CREATE DATABASE ${ident(name)}`)
      created.push(name)
    }
    return created
  })
}

export interface CloneOptions {
  /** The database to copy (e.g. rotv_pristine); it must have no open connections, so they are ended. */
  template: string
  /** The database to (re)create as a copy of the template (e.g. rotv); dropped first when it exists. */
  target: string
}

/**
 * Replace `target` with a file-level copy of `template`. Also makes the pristine copy in the first
 * place: cloneDatabaseFromTemplate(conn, { template: 'rotv', target: 'rotv_pristine' }).
 * The copy is made under a scratch name while the app keeps using the old target; only then is the
 * target dropped (its sessions terminated) and the copy renamed into place, so the window in which
 * the database does not exist is a few milliseconds, not the whole copy. The price: for the duration
 * of the copy the database exists three times (target, template, copy) in memory.
 * Needs PostgreSQL 15 or later (STRATEGY).
 */
export async function cloneDatabaseFromTemplate(conn: pg.ClientConfig, opts: CloneOptions): Promise<void> {
  if (opts.template === opts.target) throw new Error('template and target must differ')
  const scratch = `${opts.target}__rotv_clone`.slice(0, 63)
  await withClient(maintenance(conn, [opts.template, opts.target, scratch]), async (client) => {
    // Left over from an interrupted reset.
    await client.query(`DROP DATABASE IF EXISTS ${ident(scratch)} WITH (FORCE)`)
    // A template must have no sessions at all during the copy (else "source database is being accessed").
    await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [opts.template])
    await client.query(`CREATE DATABASE ${ident(scratch)} TEMPLATE ${ident(opts.template)} STRATEGY FILE_COPY`)
    // FORCE terminates the target's sessions and drops it in one statement, so a reconnecting pool
    // cannot slip in between terminate and drop.
    await client.query(`DROP DATABASE IF EXISTS ${ident(opts.target)} WITH (FORCE)`)
    await client.query(`ALTER DATABASE ${ident(scratch)} RENAME TO ${ident(opts.target)}`)
  })
}

/** pg_advisory_lock key taken while the spare copy is made or swapped in ("rotv" in ASCII). */
export const SPARE_LOCK = 0x726f7476

export interface SpareOptions {
  /** The database to copy (rotv_pristine); nobody may be connected to it. */
  template: string
  /** The ready copy's name (spareName(target)). */
  spare: string
}

/** The name of the spare copy kept for `target`. */
export function spareName(target: string): string {
  return `${target}__rotv_spare`.slice(0, 63)
}

/** What makeSpare learns before copying, for its caller's check. */
export interface SpareFacts {
  /** Size of the copy to make. */
  bytes: number
  /** Size of all databases of the server now. */
  clusterBytes: number
  /** The server's data_directory. */
  dataDirectory: string
}

/**
 * Make the spare copy of `template` unless it is there already; nobody can connect to it until it is
 * put into use. One at a time per server (an advisory lock, which resetFromSpare also takes, so a reset
 * waits for a copy in progress rather than starting a second one). `check` is asked first and throws
 * when the copy should not be made (no room, not the expected cluster).
 */
export async function makeSpare(conn: pg.ClientConfig, opts: SpareOptions & { check?: (facts: SpareFacts) => Promise<void> }): Promise<{ made: boolean; bytes: number }> {
  return withClient(maintenance(conn, [opts.template, opts.spare]), async (client) => {
    await client.query("SET application_name = 'rotv spare copy'")
    await client.query('SELECT pg_advisory_lock($1)', [SPARE_LOCK])
    const { rows } = await client.query<{ bytes: string; cluster: string; dir: string; spare: boolean }>(
      `SELECT pg_database_size($1)::text AS bytes, (SELECT sum(pg_database_size(oid)) FROM pg_database)::text AS cluster,
         current_setting('data_directory') AS dir, EXISTS (SELECT 1 FROM pg_database WHERE datname = $2) AS spare`,
      [opts.template, opts.spare],
    )
    const row = rows[0]!
    const bytes = Number(row.bytes)
    if (row.spare) return { made: false, bytes }
    await opts.check?.({ bytes, clusterBytes: Number(row.cluster), dataDirectory: row.dir })
    await client.query(`CREATE DATABASE ${ident(opts.spare)} TEMPLATE ${ident(opts.template)} STRATEGY FILE_COPY ALLOW_CONNECTIONS false`)
    return { made: true, bytes }
  })
}

/**
 * Put the template's data back into `target`: from the spare when there is one (renames only, a few
 * milliseconds at any size), else by a copy (cloneDatabaseFromTemplate). A spare copy in progress is
 * waited for up to waitMs, since it is closer to done than a new copy would be.
 */
export async function resetFromSpare(conn: pg.ClientConfig, opts: SpareOptions & { target: string; waitMs?: number }): Promise<'spare' | 'copy'> {
  const swapped = await withClient(maintenance(conn, [opts.template, opts.target, opts.spare]), async (client) => {
    await client.query(`SET lock_timeout = ${Math.max(1, Math.round(opts.waitMs ?? 60_000))}`)
    // a copy that does not finish in time is left to finish; this reset copies for itself
    const locked = await client.query('SELECT pg_advisory_lock($1)', [SPARE_LOCK]).then(() => true, () => false)
    if (!locked) return false
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [opts.spare])
    if (!rowCount) return false
    // connections allowed before the swap, so the app's reconnects find the database open once it has its name
    await client.query(`ALTER DATABASE ${ident(opts.spare)} WITH ALLOW_CONNECTIONS true`)
    await client.query(`DROP DATABASE IF EXISTS ${ident(opts.target)} WITH (FORCE)`)
    await client.query(`ALTER DATABASE ${ident(opts.spare)} RENAME TO ${ident(opts.target)}`)
    return true
  })
  if (swapped) return 'spare'
  await cloneDatabaseFromTemplate(conn, { template: opts.template, target: opts.target })
  return 'copy'
}

/** Nobody may connect to `db` any more (a template whose files must stay untouched); copying it as a template still works. */
export async function forbidConnections(conn: pg.ClientConfig, db: string): Promise<void> {
  await withClient(maintenance(conn, [db]), (c) => c.query(`ALTER DATABASE ${ident(db)} WITH ALLOW_CONNECTIONS false`))
}

/** OID of each named database (its directory is base/<oid>). */
export async function databaseOids(conn: pg.ClientConfig, names: string[]): Promise<Map<string, number>> {
  const { rows } = await withClient(conn, (c) => c.query<{ datname: string; oid: number }>('SELECT datname, oid::int AS oid FROM pg_database WHERE datname = ANY($1)', [names]))
  const oids = new Map(rows.map((r) => [r.datname, r.oid]))
  const missing = names.filter((n) => !oids.has(n))
  if (missing.length) throw new Error(`no database ${missing.join(', ')}`)
  return oids
}

/** Quote an identifier for SQL. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** The same server, but connected to a database none of `avoid` (you cannot drop the one you are in). */
function maintenance(conn: pg.ClientConfig, avoid: string[]): pg.ClientConfig {
  const db = conn.database ?? 'postgres'
  if (!avoid.includes(db)) return conn
  return { ...conn, database: avoid.includes('postgres') ? 'template1' : 'postgres' }
}

async function withClient<T>(conn: pg.ClientConfig, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(conn)
  client.on('error', () => {})
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end().catch(() => {})
  }
}
