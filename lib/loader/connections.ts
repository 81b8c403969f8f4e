// The loader's PostgreSQL connections: one "main" connection that runs the dump's statements in order,
// and a pool of workers for COPY and post-data DDL. Each worker replays the dump's session state (SET
// ..., set_config(...)) as of the moment its job was dispatched, so parallel work sees exactly the
// settings a serial psql run would have had.
import { availableParallelism, totalmem } from 'node:os'
import pg from 'pg'

/** Session state: parameter key -> the statement that set it, in the order first set. */
export type SessionState = ReadonlyMap<string, string>

export class LoaderConnection {
  readonly client: pg.Client
  private applied = new Map<string, string>()
  /** The first error the socket reported while idle (e.g. the backend was terminated). */
  idleError?: Error

  constructor(config: pg.ClientConfig) {
    // named so that pg_stat_activity shows who is busy during an import
    this.client = new pg.Client({ application_name: 'rotv-loader', ...config })
    // an idle client whose backend dies emits 'error'; without a listener that would crash the process
    this.client.on('error', (err) => {
      this.idleError ??= err
    })
  }

  get pid(): number | undefined {
    return (this.client as unknown as { processID?: number | null }).processID ?? undefined
  }

  async open(settings: string): Promise<void> {
    await this.client.connect()
    await this.client.query(settings)
  }

  /** Bring this connection's session state up to `state` (only changed parameters are sent). */
  async applySession(state: SessionState): Promise<void> {
    const pending: string[] = []
    for (const [key, sql] of state) {
      if (this.applied.get(key) !== sql) {
        pending.push(sql)
        this.applied.set(key, sql)
      }
    }
    if (pending.length) await this.client.query(pending.join('\n'))
  }

  /** Close gracefully; if the server does not answer quickly, drop the socket. */
  async close(): Promise<void> {
    const end = this.client.end().catch(() => {})
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())
    await Promise.race([end, timer])
    const stream = (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream
    stream?.destroy()
  }
}

/** A fixed set of worker connections handed out one job at a time, first come first served. */
export class WorkerPool {
  private idle: LoaderConnection[]
  private waiters: { resolve: (w: LoaderConnection) => void; reject: (e: unknown) => void }[] = []
  private closedWith?: unknown

  constructor(readonly workers: LoaderConnection[]) {
    this.idle = [...workers]
  }

  acquire(): Promise<LoaderConnection> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith)
    const w = this.idle.pop()
    if (w) return Promise.resolve(w)
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  /** An idle worker, or undefined when all are busy; never waits. */
  tryAcquire(): LoaderConnection | undefined {
    return this.closedWith === undefined ? this.idle.pop() : undefined
  }

  get idleCount(): number {
    return this.closedWith === undefined ? this.idle.length : 0
  }

  release(w: LoaderConnection): void {
    const waiter = this.waiters.shift()
    if (waiter) waiter.resolve(w)
    else this.idle.push(w)
  }

  /** Refuse all further and pending acquisitions with `reason`. */
  close(reason: unknown): void {
    this.closedWith = reason
    for (const w of this.waiters.splice(0)) w.reject(reason)
  }
}

/** Default worker count: the number of CPUs, at least 2. */
export function defaultParallelism(): number {
  return Math.max(2, availableParallelism())
}

/**
 * Session settings for bulk loading, sent on every connection before anything from the dump.
 *
 * Server-level settings are the runtime's job; for the fastest import the server should run with
 * fsync=off, full_page_writes=off, wal_level=minimal + max_wal_senders=0 (then the loader's
 * TRUNCATE + COPY FREEZE in one transaction writes no WAL for table data), checkpoint_timeout and
 * max_wal_size large, autovacuum=off during the import, and shared_buffers sized to the data.
 */
export function bulkLoadSettings(parallel: number): string {
  const mb = Math.floor(totalmem() / 1024 / 1024 / 8 / (parallel + 1))
  const maintenanceMb = Math.min(1024, Math.max(64, mb))
  return [
    'SET synchronous_commit = off',
    `SET maintenance_work_mem = '${maintenanceMb}MB'`,
    'SET statement_timeout = 0',
    'SET lock_timeout = 0',
    'SET idle_in_transaction_session_timeout = 0',
    'SET client_min_messages = warning',
  ].join(';\n')
}

/** Terminate the given backends from a fresh connection and wait (up to 5 s) until they are gone. */
export async function terminateBackends(config: pg.ClientConfig, pids: number[]): Promise<void> {
  if (pids.length === 0) return
  const control = new LoaderConnection({ ...config, connectionTimeoutMillis: 5000 })
  try {
    await control.client.connect()
    await control.client.query('SELECT pg_catalog.pg_terminate_backend(pid, 5000) FROM unnest($1::int[]) AS pid', [pids])
  } catch {
    // best effort: the sockets are destroyed anyway, and the server ends a backend whose client is gone
  } finally {
    await control.close()
  }
}
