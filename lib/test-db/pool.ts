// A pool of test databases in a running server, each a file-level copy of the pristine template, made
// ahead of time (IntegreSQL's model, with PostgreSQL itself as the coordinator). Test workers are
// separate processes, so the pool's state lives in the server's catalog, in the databases' names:
//   <db>__tpool_r_<id>          ready: nobody may connect; the next acquire takes it
//   <db>__tpool_l_<pid>_<id>    leased by process <pid>; dropped on release, or when <pid> is gone
// Taking one is a rename, which the catalog makes atomic: two workers can never get the same database,
// and no lock outlives a crashed worker.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { processAlive } from '../process/index.ts'
import { formatBytes, ident, InsufficientSpaceError } from '../postgres/index.ts'

export interface PoolServer {
  /** The server (a maintenance connection: any database but the pool's). */
  connection: pg.ClientConfig
  /** The app's database name: pool databases are named after it. */
  dbName: string
  /** The pristine copy of the snapshot they are cloned from. */
  template: string
  /** TMPFS_SIZE in dev mode: the pool never takes the cluster past it. */
  limitBytes?: number
}

export interface PoolEntry {
  name: string
  state: 'ready' | 'leased'
  /** For a leased one: the process that holds it, and whether it still runs. */
  pid?: number
  alive?: boolean
}

export interface LeasedDatabase {
  name: string
  /** postgres://postgres@127.0.0.1:PORT/NAME */
  url: string
  /** true when it came ready from the pool; false when it had to be copied while you waited. */
  fromPool: boolean
  /** Drops it and has a fresh copy made in its place. */
  release(): Promise<void>
}

export class TestDatabasePool {
  private refilling?: Promise<void>
  /** The last background refill's failure (no room, server gone), for a caller who wonders why acquire copies. */
  lastRefillError?: Error

  constructor(private readonly server: PoolServer, private readonly size: number) {}

  /** A database of the pristine data for one test (worker): ready from the pool, else copied now. */
  async acquire(): Promise<LeasedDatabase> {
    const leased = leasedName(this.server.dbName, process.pid)
    const fromPool = await this.withClient(async (c) => {
      const ready = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY random()', [`${prefix(this.server.dbName)}r\\_%`])
      for (const { datname } of ready.rows) {
        // Another worker may rename it first: then it no longer exists under that name, try the next.
        const took = await c.query(`ALTER DATABASE ${ident(datname)} RENAME TO ${ident(leased)}`).then(() => true, () => false)
        if (took) {
          await c.query(`ALTER DATABASE ${ident(leased)} WITH ALLOW_CONNECTIONS true`)
          return true
        }
      }
      await this.copy(c, leased, true)
      return false
    })
    this.refillInBackground()
    return { name: leased, url: urlOf(this.server.connection, leased), fromPool, release: () => this.release(leased) }
  }

  /** Makes ready copies until there are `size` of them (or `upTo`); returns how many were made. */
  async fill(upTo = this.size): Promise<number> {
    return this.withClient(async (c) => {
      await this.sweep(c)
      const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE $1', [`${prefix(this.server.dbName)}r\\_%`])
      let made = 0
      for (let have = rows[0]!.n; have < upTo; have++, made++) await this.copy(c, readyName(this.server.dbName), false)
      return made
    })
  }

  async list(): Promise<PoolEntry[]> {
    return this.withClient(async (c) => {
      const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname', [`${prefix(this.server.dbName)}%`])
      return rows.map(({ datname }) => parseName(this.server.dbName, datname)).filter((e): e is PoolEntry => e !== undefined)
    })
  }

  /** Drops every pool database, leased ones included (their sessions are ended). */
  async clear(): Promise<number> {
    return this.withClient(async (c) => {
      const entries = await this.list()
      for (const e of entries) await c.query(`DROP DATABASE IF EXISTS ${ident(e.name)} WITH (FORCE)`)
      return entries.length
    })
  }

  /** Waits for a background refill this process started (call before exiting, or in a test's teardown). */
  async settle(): Promise<void> {
    await this.refilling
  }

  private async release(name: string): Promise<void> {
    await this.withClient((c) => c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`))
    this.refillInBackground()
  }

  private refillInBackground(): void {
    if (this.refilling) return
    this.refilling = this.fill()
      .then(() => { this.lastRefillError = undefined }, (err: Error) => { this.lastRefillError = err })
      .finally(() => { this.refilling = undefined })
  }

  /** Leases of processes that are gone: their data is dirty, nobody will release them. */
  private async sweep(c: pg.Client): Promise<void> {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix(this.server.dbName)}l\\_%`])
    for (const { datname } of rows) {
      const e = parseName(this.server.dbName, datname)
      if (e && e.alive === false) await c.query(`DROP DATABASE IF EXISTS ${ident(datname)} WITH (FORCE)`)
    }
  }

  private async copy(c: pg.Client, name: string, connectable: boolean): Promise<void> {
    const { rows } = await c.query<{ bytes: string; cluster: string }>(
      'SELECT pg_database_size($1)::text AS bytes, (SELECT sum(pg_database_size(oid)) FROM pg_database)::text AS cluster',
      [this.server.template],
    )
    const bytes = Number(rows[0]!.bytes)
    const cluster = Number(rows[0]!.cluster)
    const limit = this.server.limitBytes
    if (limit && cluster + bytes > limit) {
      throw new InsufficientSpaceError(
        `a test database (${formatBytes(bytes)}) would take the cluster past TMPFS_SIZE=${formatBytes(limit)}`,
        bytes, limit - cluster,
        `use a smaller pool (test-db --fill N, openTestDatabases({ size })), release databases you are done with, or raise TMPFS_SIZE to about ${formatBytes(cluster + bytes)}`,
      )
    }
    await c.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(this.server.template)} STRATEGY FILE_COPY ALLOW_CONNECTIONS ${connectable ? 'true' : 'false'}`)
  }

  private async withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
    const c = new pg.Client(this.server.connection)
    await c.connect()
    try {
      return await fn(c)
    } finally {
      await c.end()
    }
  }
}

// Helpers

const prefix = (db: string) => `${db}__tpool_`.replace(/_/g, '\\_')
const id = () => randomBytes(4).toString('hex')
const readyName = (db: string) => `${db}__tpool_r_${id()}`.slice(0, 63)
const leasedName = (db: string, pid: number) => `${db}__tpool_l_${pid}_${id()}`.slice(0, 63)

function parseName(db: string, name: string): PoolEntry | undefined {
  const rest = name.slice(`${db}__tpool_`.length)
  if (rest.startsWith('r_')) return { name, state: 'ready' }
  const m = /^l_(\d+)_/.exec(rest)
  if (!m) return undefined
  const pid = Number(m[1])
  return { name, state: 'leased', pid, alive: processAlive(pid) }
}


function urlOf(conn: pg.ClientConfig, db: string): string {
  return `postgres://${conn.user ?? 'postgres'}@${conn.host ?? '127.0.0.1'}:${conn.port ?? 5432}/${encodeURIComponent(db)}`
}
