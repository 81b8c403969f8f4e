// loadDump: replays a plain-SQL pg_dump into a database without psql.
//
// Statements before the first COPY (the schema, and with --clean the DROPs) run in order on one "main"
// connection. Each COPY block goes to a worker connection through the COPY protocol, with a bounded
// buffer, so the reader moves on to the next table while the previous one is still being ingested.
// With splitCopyBytes, a COPY block bigger than that (one huge table, typically) is spread over the
// idle workers once it passes that size, at row boundaries (opt-in: see the option).
// Post-data DDL (indexes, PK/UNIQUE/FK constraints, triggers) runs on the workers as soon as the tables
// it touches are loaded. Index builds on one table run side by side (CREATE INDEX takes a SHARE lock);
// a plain PRIMARY KEY / UNIQUE constraint is built the same way, as a unique index, and attached with
// `ADD CONSTRAINT ... USING INDEX` once the table's index builds are done. Every other statement on a
// table waits for all earlier work on it, and a foreign key waits for (and then holds back) both its
// tables. Anything not recognised as safe to parallelise waits for all earlier work and runs alone on
// the main connection.
import { Readable, type Writable } from 'node:stream'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { classifyStatement } from './classify-statement.ts'
import { LoaderConnection, WorkerPool, bulkLoadSettings, defaultParallelism, terminateBackends, type SessionState } from './connections.ts'
import {
  ConnectMetaCommandError,
  DumpLoadCancelledError,
  DumpLoadError,
  MissingExtensionError,
  TruncatedDumpError,
  UnsupportedObjectError,
  excerpt,
  type DumpPosition,
} from './errors.ts'
import type { DumpFile } from './open-dump-file.ts'
import { splitStatements } from './split-statements.ts'

export interface LoadDumpOptions {
  /** Target database; it should be empty or hold an earlier import of the same --clean dump. */
  connection: pg.ClientConfig
  /** Plain SQL: a stream, any async iterable of chunks, or a file from openDumpFile(). */
  input: Readable | AsyncIterable<Buffer> | DumpFile
  /** Worker connections for COPY and post-data (plus one main connection). Default: CPUs, min 2. */
  parallel?: number
  onProgress?: (p: LoadProgress) => void
  /** Minimum time between data-phase progress reports. Default 250 ms. */
  progressIntervalMs?: number
  /** Cancels the load: in-flight queries are terminated, connections closed, the promise rejects. */
  signal?: AbortSignal
  /** Per-COPY in-memory buffer between reader and worker. Default 16 MiB. */
  copyBufferBytes?: number
  /** Load tables the dump created with BEGIN; TRUNCATE; COPY ... (FREEZE); COMMIT. Default true. */
  freeze?: boolean
  /**
   * Once a COPY block has passed this many bytes, the rest of it is spread over every idle worker.
   * The rows then land in a different physical order than in the dump: the same rows, but a query
   * without ORDER BY may list them differently. Default 0: off. Measured on 2 CPUs it is slower (the
   * reader, the first backend and the extra ones share two cores, and spread rows lose FREEZE's hint
   * bits, which the index builds then write); on more CPUs it is unmeasured, so it is opt-in.
   */
  splitCopyBytes?: number
  /** Require the "PostgreSQL database dump complete" trailer. Default true. */
  requireTrailer?: boolean
  /**
   * The plain SQL's size when known beforehand (a file from openDumpFile() that is not compressed
   * gives it itself). A dump under smallDumpBytes loads as psql does, on one connection: the workers'
   * set-up costs more than they save there.
   */
  sizeHint?: number
  /**
   * Below this size (sizeHint) no worker connections are opened. Default SMALL_DUMP_BYTES; 0 turns it
   * off. (It was off by default once because a test "hung": that was tap diffing megabytes of rows
   * after the spread test's assertions failed, the test needing workers; it now asks for them.)
   */
  smallDumpBytes?: number
}

/** Below this many bytes of SQL a dump loads on one connection (see LoadDumpOptions.sizeHint). */
export const SMALL_DUMP_BYTES = 8 * 1024 * 1024

export type LoadPhase = 'connecting' | 'pre-data' | 'data' | 'post-data' | 'finishing' | 'done'

export interface LoadProgress {
  phase: LoadPhase
  statements: number
  /** COPY blocks finished / seen so far (the total is unknown until the end of the dump). */
  tablesDone: number
  tablesSeen: number
  /** Rows of finished COPY blocks. */
  rows: number
  /** Plain-SQL bytes read from the input. */
  bytesRead: number
  /** For compressed files opened with openDumpFile: compressed bytes read, and the file size. */
  compressedBytesRead?: number
  compressedBytesTotal?: number
  /** For uncompressed files opened with openDumpFile: the file size. */
  bytesTotal?: number
  elapsedMs: number
}

export interface LoadResult {
  /** Statements executed, COPY statements included. */
  statements: number
  /** Tables loaded (COPY blocks). */
  tables: number
  /**
   * Rows per table from the COPY results, keyed by the table's name as the COPY statement writes it,
   * normalised (`public.users`, `app."Mixed Case"`); pg_dump always schema-qualifies it.
   */
  rows: Record<string, number>
  /** Plain-SQL bytes read. */
  bytes: number
  durationMs: number
  /** The target server's server_version. */
  serverVersion: string
  /** From the dump's header comments, when present. */
  dumpedFrom?: string
  dumpedBy?: string
  /** Things skipped on purpose (e.g. \connect, settings this server does not know). */
  warnings: string[]
  /** Connections the load opened: 1 for a small dump (see LoadDumpOptions.smallDumpBytes), else 1 + workers. */
  connections: number
}

export async function loadDump(opts: LoadDumpOptions): Promise<LoadResult> {
  const load = new DumpLoad(opts)
  return load.run()
}

const DEFAULT_COPY_BUFFER = 16 * 1024 * 1024

// True when the database holds nothing a dump's --clean prologue could drop: no schema but public, no
// extension but plpgsql, no object in a user schema, no large object, cast or event trigger.
const USER_NS = `(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND nspname !~ '^pg_(toast_)?temp')`
const EMPTY_DATABASE = `NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE oid IN ${USER_NS} AND nspname <> 'public')
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql')
  ${[
    ['pg_class', 'relnamespace'],
    ['pg_type', 'typnamespace'],
    ['pg_proc', 'pronamespace'],
    ['pg_operator', 'oprnamespace'],
    ['pg_opfamily', 'opfnamespace'],
    ['pg_collation', 'collnamespace'],
    ['pg_conversion', 'connamespace'],
    ['pg_ts_config', 'cfgnamespace'],
    ['pg_ts_dict', 'dictnamespace'],
    ['pg_statistic_ext', 'stxnamespace'],
  ]
    .map(([table, column]) => `AND NOT EXISTS (SELECT FROM pg_catalog.${table} WHERE ${column} IN ${USER_NS})`)
    .join('\n  ')}
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_largeobject_metadata)
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_cast WHERE oid >= 16384)
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger)`
const NL = 0x0a

interface StatementInfo {
  sql: string
  position: DumpPosition
  /** The statement as the dump wrote it, when `sql` is the loader's rewrite of it (for messages). */
  dumped?: string
}

class DumpLoad {
  private readonly started = Date.now()
  private readonly parallel: number
  /** A small dump: everything on the main connection, no workers (see LoadDumpOptions.sizeHint). */
  private readonly serialMode: boolean
  private readonly splitCopyBytes: number
  private readonly file?: DumpFile
  private readonly input: AsyncIterable<Buffer>
  private main?: LoaderConnection
  private workers: LoaderConnection[] = []
  private pool?: WorkerPool

  private failure?: unknown
  /** Rejecters of the waits in progress (see race()). */
  private waiting = new Set<(err: unknown) => void>()
  private shutdown?: Promise<void>

  private phase: LoadPhase = 'connecting'
  private statements = 0
  private tablesSeen = 0
  private tablesDone = 0
  private totalRows = 0
  private bytesRead = 0
  private lastProgress = 0
  private readonly rows: Record<string, number> = {}
  private readonly warnings: string[] = []
  private dumpedFrom?: string
  private dumpedBy?: string
  private sawTrailer = false

  /** SET/set_config statements so far, replayed on workers. */
  private session = new Map<string, string>([['client_encoding', "SET client_encoding = 'UTF8';"]])
  /** The dump's SET client_encoding, in force for COPY data only. */
  private copyEncoding = "SET client_encoding = 'UTF8';"
  /** Work dispatched per table (COPY, then its post-data statements), see TableWork. */
  private work = new Map<string, TableWork>()
  private outstanding = new Set<Promise<void>>()
  /** Tables this dump created (and can therefore TRUNCATE + COPY FREEZE): name -> partitioned. */
  private created = new Map<string, boolean>()
  private indexTable = new Map<string, string>()
  private inTransaction = false
  /** The target database's name (a \connect to it is a no-op). */
  private database = ''
  /** The target database was empty and the dump has run nothing but SETs and --clean DROPs so far. */
  private prologue = false

  constructor(private readonly opts: LoadDumpOptions) {
    this.parallel = Math.max(1, Math.floor(opts.parallel ?? defaultParallelism()))
    const size = opts.sizeHint ?? (isDumpFile(opts.input) && opts.input.compression === 'none' ? opts.input.fileBytes : undefined)
    this.serialMode = size !== undefined && size < (opts.smallDumpBytes ?? SMALL_DUMP_BYTES)
    this.splitCopyBytes = opts.splitCopyBytes && opts.splitCopyBytes > 0 ? opts.splitCopyBytes : Infinity
    if (isDumpFile(opts.input)) {
      this.file = opts.input
      this.input = opts.input.stream
    } else {
      this.input = opts.input
    }
  }

  async run(): Promise<LoadResult> {
    const { signal } = this.opts
    const onAbort = () => this.fail(new DumpLoadCancelledError())
    if (signal?.aborted) throw new DumpLoadCancelledError()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const serverVersion = await this.race(this.connect())
      this.setPhase('pre-data')
      await this.readDump()
      this.flushAttaches()
      this.setPhase('finishing')
      await this.race(Promise.all(this.outstanding))
      if (!this.sawTrailer && this.opts.requireTrailer !== false) {
        throw new TruncatedDumpError(`the dump has no "PostgreSQL database dump complete" trailer (it ends after ${this.bytesRead} bytes)`)
      }
      if (this.failure) throw this.failure
      this.setPhase('done')
      await this.closeAll()
      return {
        statements: this.statements,
        tables: this.tablesDone,
        rows: this.rows,
        bytes: this.bytesRead,
        durationMs: Date.now() - this.started,
        serverVersion,
        dumpedFrom: this.dumpedFrom,
        dumpedBy: this.dumpedBy,
        warnings: this.warnings,
        connections: 1 + this.workers.length,
      }
    } catch (err) {
      this.fail(err)
      await this.shutdown
      throw this.failure
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  // ---- connections ----

  private async connect(): Promise<string> {
    const settings = bulkLoadSettings(this.parallel)
    this.main = new LoaderConnection(this.opts.connection)
    this.workers = this.serialMode ? [] : Array.from({ length: this.parallel }, () => new LoaderConnection(this.opts.connection))
    try {
      await Promise.all([this.main, ...this.workers].map((c) => c.open(settings)))
    } catch (err) {
      throw new DumpLoadError('cannot connect to the target database', {
        serverMessage: err instanceof Error ? err.message : String(err),
        fix: 'check that the target PostgreSQL server is running and the connection settings (host, port, user, database) are right',
        cause: err,
      })
    }
    this.pool = new WorkerPool(this.workers)
    const { rows } = await this.main.client.query<{ server_version: string; db: string; empty: boolean }>(
      `SELECT current_setting('server_version') AS server_version, current_database() AS db, ${EMPTY_DATABASE} AS empty`,
    )
    this.prologue = rows[0]?.empty === true
    this.database = rows[0]?.db ?? ''
    return rows[0]?.server_version ?? 'unknown'
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return
    this.failure = err
    for (const reject of this.waiting) reject(err)
    this.waiting.clear()
    this.pool?.close(err)
    this.shutdown = this.abortAll()
  }

  /** Stop everything now: terminate our backends (cancelling in-flight queries) and drop the sockets. */
  private async abortAll(): Promise<void> {
    const input = this.file?.stream ?? (this.input instanceof Readable ? this.input : undefined)
    input?.destroy()
    const conns = [this.main, ...this.workers].filter((c): c is LoaderConnection => c !== undefined)
    const pids = conns.map((c) => c.pid).filter((p): p is number => typeof p === 'number')
    await terminateBackends(this.opts.connection, pids)
    await Promise.all(conns.map((c) => c.close()))
  }

  private async closeAll(): Promise<void> {
    await Promise.all([this.main, ...this.workers].map((c) => c?.close()))
  }

  /** Await p, but give up as soon as the load has failed or was cancelled. */
  // Not Promise.race(p, failed): every call would leave a reaction on the long-lived `failed` promise
  // holding its result (input chunks included) until the end of the load.
  private race<T>(p: Promise<T>): Promise<T> {
    if (this.failure !== undefined) {
      p.catch(() => {})
      return Promise.reject(this.failure)
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject)
      p.then(
        (value) => {
          this.waiting.delete(reject)
          resolve(value)
        },
        (err: unknown) => {
          this.waiting.delete(reject)
          reject(err)
        },
      )
    })
  }

  // ---- the reader ----

  private async readDump(): Promise<void> {
    const items = splitStatements(this.countBytes(this.input))[Symbol.asyncIterator]()
    let copy: CopyInProgress | undefined
    for (;;) {
      const next = await this.race(items.next())
      if (next.done) break
      const item = next.value
      switch (item.kind) {
        case 'comment':
          this.noteComment(item.text)
          break
        case 'meta':
          if (item.command === '\\connect' || item.command === '\\c') {
            // psql would go on in another database; loading that here would mix two databases into
            // one. Only a \connect to the database being loaded is a no-op.
            const target = connectTarget(item.args)
            if (target !== undefined && target !== this.database) throw new ConnectMetaCommandError(item.command, item.args, target, this.database, { line: item.line, offset: item.offset })
          }
          // \restrict / \unrestrict (pg_dump 17.6+, 15.14+) guard psql against injected meta-commands: no-ops here
          break
        case 'statement':
          this.statements++
          await this.statement({ sql: item.sql, position: { line: item.line, offset: item.offset } })
          break
        case 'copy-start':
          this.statements++
          copy = await this.startCopy({ sql: item.sql, position: { line: item.line, offset: item.offset } })
          break
        case 'copy-data':
          if (!copy) throw new Error('copy-data outside COPY')
          await this.copyData(copy, item.data)
          this.progress(false)
          break
        case 'copy-end':
          if (!copy) throw new Error('copy-end outside COPY')
          await this.endCopy(copy)
          copy = undefined
          break
      }
    }
  }

  private async *countBytes(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      this.bytesRead += buf.length
      yield buf
    }
  }

  private noteComment(text: string): void {
    let m: RegExpExecArray | null
    if ((m = /^Dumped from database version (.+)$/.exec(text))) this.dumpedFrom = m[1]!.trim()
    else if ((m = /^Dumped by pg_dump version (.+)$/.exec(text))) this.dumpedBy = m[1]!.trim()
    else if (/^PostgreSQL database dump complete$/.test(text)) this.sawTrailer = true
  }

  // ---- statements ----

  private async statement(info: StatementInfo): Promise<void> {
    const cls = classifyStatement(info.sql)
    if (cls.kind !== 'session' && cls.kind !== 'clean-drop') this.prologue = false
    const serial = this.phase === 'pre-data' || this.inTransaction || this.serialMode
    switch (cls.kind) {
      case 'session':
        if (cls.key === 'client_encoding') {
          // The lexer already decodes statements in this encoding, and node-pg sends them as UTF-8, so
          // connections stay in UTF8 for statements; only COPY data (raw bytes) is sent in the dump's
          // encoding, for the server to convert as it does for psql (see copySession()).
          this.copyEncoding = info.sql
          return
        }
        // replayed on the workers from the session map; the main connection runs it now
        if (await this.onMain(info, { tolerateUnknownSetting: true })) {
          this.session.delete(cls.key)
          this.session.set(cls.key, info.sql)
        }
        return
      case 'sequence-set':
        await this.onMain(info)
        return
      case 'clean-drop':
        // Into an empty database the --clean prologue has nothing to drop (and its ALTER ... DROP ...
        // IF EXISTS of objects whose parent does not exist yet would only fail): skipped. Wrongly
        // taken for empty, the CREATE that follows would fail loudly ("already exists"), never silently.
        if (this.prologue) return
        // pg_dump documents that --clean may emit harmless errors (e.g. "cannot drop inherited
        // constraint" of a partition, dropped anyway with its parent's); psql carries on, and so do we.
        // A real leftover makes the CREATE that follows fail, which is reported.
        await this.barrier()
        await this.onMain(info, { tolerateAny: true })
        return
      case 'transaction':
        await this.barrier()
        await this.onMain(info)
        this.inTransaction = cls.opens
        return
      case 'create-table':
        await this.barrier()
        await this.onMain(info)
        this.created.set(cls.table, cls.partitioned)
        return
      case 'create-extension':
        await this.barrier()
        await this.onMain(info, { extension: cls.name })
        return
      case 'index-comment': {
        const table = this.indexTable.get(cls.index)
        if (!serial && table) return this.schedule([table], info)
        break
      }
      case 'table-ddl':
        // DDL on a partitioned table recurses into its partitions: not confined to its own chain
        if (!serial && !cls.tables.some((t) => this.created.get(t) === true)) {
          this.setPhase('post-data')
          const table = cls.tables[0]!
          if (cls.creates) {
            this.indexTable.set(cls.creates.index, table)
            return this.schedule([table], info, 'shared')
          }
          if (cls.viaIndex && this.created.has(table)) {
            const { name, type, columns } = cls.viaIndex
            this.schedule([table], { ...info, dumped: info.sql, sql: `CREATE UNIQUE INDEX ${name} ON ${table} USING btree ${columns};` }, 'shared')
            const attach = { ...info, dumped: info.sql, sql: `ALTER TABLE ONLY ${table} ADD CONSTRAINT ${name} ${type} USING INDEX ${name};` }
            this.tableWork(table).attach.push({ info: attach, session: new Map(this.session) })
            return
          }
          return this.schedule(cls.tables, info)
        }
        break
    }
    if (this.phase === 'data') this.setPhase('post-data')
    await this.barrier()
    await this.onMain(info)
  }

  /** Run on the main connection, in order. Returns false if skipped as harmless. */
  private async onMain(info: StatementInfo, opts: { tolerateUnknownSetting?: boolean; tolerateAny?: boolean; extension?: string } = {}): Promise<boolean> {
    try {
      await this.race(this.main!.client.query(info.sql))
      return true
    } catch (err) {
      if (err === this.failure) throw err
      // e.g. SET transaction_timeout from a PostgreSQL 17 pg_dump on an older server: psql would print
      // the error and carry on, and so do we
      // (never inside a dump's own transaction, which the error has aborted)
      const harmless = (opts.tolerateUnknownSetting && pgCode(err) === '42704') || (opts.tolerateAny && pgCode(err) !== undefined)
      if (harmless && !this.inTransaction) {
        this.warnings.push(`line ${info.position.line}: skipped ${excerpt(info.sql, 80)} (${(err as Error).message})`)
        return false
      }
      throw statementError(err, info, opts.extension)
    }
  }

  /** Wait until all COPY and post-data work dispatched so far has finished. */
  private async barrier(): Promise<void> {
    this.flushAttaches()
    if (this.outstanding.size) await this.race(Promise.all(this.outstanding))
  }

  /**
   * Run a post-data statement on a worker. 'exclusive' (most DDL) waits for everything earlier on its
   * tables and holds back what comes later; 'shared' (an index build) waits only for the last
   * exclusive statement, so consecutive index builds on one table run side by side.
   */
  private schedule(tables: string[], info: StatementInfo, mode: 'exclusive' | 'shared' = 'exclusive', session: SessionState = new Map(this.session)): void {
    if (mode === 'exclusive') for (const t of tables) this.flushAttaches(t)
    const deps = tables.flatMap((t) => this.dependencies(t, mode))
    const job = (async () => {
      await Promise.all(deps)
      if (this.failure !== undefined) return
      const w = await this.pool!.acquire()
      try {
        await w.applySession(session)
        await w.client.query(info.sql)
        this.progress(false)
      } catch (err) {
        throw statementError(err, info)
      } finally {
        this.pool!.release(w)
      }
    })().catch((err) => this.fail(err))
    for (const t of tables) {
      const work = this.tableWork(t)
      if (mode === 'shared') work.shared.push(job)
      else {
        work.tail = job
        work.shared = []
      }
    }
    this.track(job)
  }

  /** What a new statement on `table` must wait for. */
  private dependencies(table: string, mode: 'exclusive' | 'shared'): Promise<void>[] {
    const work = this.work.get(table)
    if (!work) return []
    const deps = work.tail ? [work.tail] : []
    return mode === 'shared' ? deps : [...deps, ...work.shared]
  }

  /** Schedule the constraint attaches held back for the table's index builds (all tables: no argument). */
  private flushAttaches(table?: string): void {
    for (const t of table === undefined ? [...this.work.keys()] : [table]) {
      const work = this.work.get(t)
      if (!work?.attach.length) continue
      // with the session state of when the constraint was read, not of now
      for (const { info, session } of work.attach.splice(0)) this.schedule([t], info, 'exclusive', session)
    }
  }

  private tableWork(table: string): TableWork {
    let work = this.work.get(table)
    if (!work) this.work.set(table, (work = { shared: [], attach: [] }))
    return work
  }

  private track(p: Promise<void>): void {
    this.outstanding.add(p)
    void p.finally(() => this.outstanding.delete(p))
  }

  // ---- COPY ----

  private async startCopy(info: StatementInfo): Promise<CopyInProgress> {
    const cls = classifyStatement(info.sql)
    const table = cls.kind === 'copy' ? cls.table : `line ${info.position.line}`
    this.tablesSeen++
    if (this.phase !== 'data') this.setPhase('data')
    else this.progress(true)
    const onMain = this.inTransaction || this.serialMode
    const partitioned = this.created.get(table)
    const textFormat = /\sFROM\s+stdin\s*;$/i.test(info.sql)
    let freeze = !onMain && this.opts.freeze !== false && partitioned === false && textFormat
    // a table's earlier work (rare: a second COPY into the same table) must be finished first
    this.flushAttaches(table)
    const before = this.dependencies(table, 'exclusive')
    if (before.length) await this.race(Promise.all(before))
    const conn = onMain ? this.main! : await this.race(this.pool!.acquire())
    let release = !onMain
    try {
      await this.race(conn.applySession(this.copySession()))
      if (freeze) freeze = await this.race(this.truncateForFreeze(conn, table))
      const dataLine = info.position.line + countLines(info.sql) + 1
      const first = this.openCopy(conn, freeze ? `${info.sql.replace(/;$/, '')} WITH (FREEZE)` : info.sql, info, dataLine, false)
      release = false
      return { table, info, dataLine, onMain, freeze, splittable: !onMain && textFormat && this.parallel > 1, bytes: 0, first }
    } catch (err) {
      if (err === this.failure) throw err
      throw statementError(err, info)
    } finally {
      if (release) this.pool!.release(conn)
    }
  }

  /**
   * Open the transaction COPY FREEZE needs (the table truncated in it), but only when that loses
   * nothing: rows that reached the table before its COPY (an INSERT, an earlier COPY block of a
   * concatenated dump) stay, and a table that a foreign key already references (an inline
   * REFERENCES, which TRUNCATE refuses) is loaded as psql would. Then it is a plain COPY: false.
   */
  private async truncateForFreeze(conn: LoaderConnection, table: string): Promise<boolean> {
    const { rows } = await conn.client.query<{ nonempty: boolean }>(`SELECT EXISTS (SELECT FROM ONLY ${table}) AS nonempty`)
    if (rows[0]?.nonempty) return false
    await conn.client.query('BEGIN')
    try {
      await conn.client.query(`TRUNCATE ONLY ${table}`)
      return true
    } catch (err) {
      await conn.client.query('ROLLBACK')
      // 0A000: "cannot truncate a table referenced in a foreign key constraint"
      if (pgCode(err) === '0A000') return false
      throw err
    }
  }

  /** The session state for COPY: the statements' one, with the dump's client_encoding. */
  private copySession(): SessionState {
    return new Map(this.session).set('client_encoding', this.copyEncoding)
  }

  private openCopy(conn: LoaderConnection, sql: string, info: StatementInfo, dataLine: number, part: boolean): CopyStream {
    const stream = conn.client.query(copyFrom(sql, { highWaterMark: this.opts.copyBufferBytes ?? DEFAULT_COPY_BUFFER }))
    const done = new Promise<number>((resolve, reject) => {
      stream.on('finish', () => resolve(stream.rowCount))
      stream.on('error', reject)
    })
    done.catch((err) => this.fail(copyError(err, info, dataLine, part)))
    return { conn, stream, done }
  }

  private async copyData(copy: CopyInProgress, data: Buffer): Promise<void> {
    copy.bytes += data.length
    if (copy.parts) return this.spread(copy, data)
    if (copy.splittable && copy.bytes > this.splitCopyBytes && this.pool!.idleCount > 0) {
      const nl = data.lastIndexOf(NL)
      if (nl >= 0) {
        await this.write(copy.first.stream, data.subarray(0, nl + 1))
        await this.beginSpread(copy)
        if (nl + 1 < data.length) copy.carry = data.subarray(nl + 1)
        return
      }
    }
    await this.write(copy.first.stream, data)
  }

  /**
   * End the block's first COPY (committing its FREEZE transaction, whose TRUNCATE lock would block
   * everyone else) and open one plain COPY on it and on every idle worker for the rest of the block.
   */
  private async beginSpread(copy: CopyInProgress): Promise<void> {
    copy.first.stream.end()
    copy.firstRows = await this.race(copy.first.done)
    if (copy.freeze) await this.race(copy.first.conn.client.query('COMMIT'))
    copy.freeze = false
    const conns = [copy.first.conn]
    for (let w = this.pool!.tryAcquire(); w; w = this.pool!.tryAcquire()) conns.push(w)
    copy.parts = []
    for (const conn of conns) {
      await this.race(conn.applySession(this.copySession()))
      copy.parts.push(this.openCopy(conn, copy.info.sql, copy.info, copy.dataLine, true))
    }
  }

  /** Spread mode: whole rows go to the least busy part; what follows the chunk's last newline waits for the next chunk. */
  private async spread(copy: CopyInProgress, data: Buffer): Promise<void> {
    const parts = copy.parts!
    const nl = data.lastIndexOf(NL)
    if (nl < 0) {
      // a row longer than a chunk
      copy.carry = copy.carry ? Buffer.concat([copy.carry, data]) : data
      return
    }
    let part = parts[0]!
    for (const p of parts) if (p.stream.writableLength < part.stream.writableLength) part = p
    if (copy.carry) part.stream.write(copy.carry)
    const ok = part.stream.write(nl + 1 === data.length ? data : data.subarray(0, nl + 1))
    copy.carry = nl + 1 < data.length ? data.subarray(nl + 1) : undefined
    if (!ok && parts.every((p) => p.stream.writableNeedDrain)) await this.race(drained(part.stream))
  }

  private async write(stream: Writable, data: Buffer): Promise<void> {
    if (!stream.write(data)) await this.race(drained(stream))
  }

  private async endCopy(copy: CopyInProgress): Promise<void> {
    const streams = copy.parts ?? [copy.first]
    // a last row without its newline (a malformed block): the server is the judge of it
    if (copy.carry) streams[0]!.stream.write(copy.carry)
    copy.carry = undefined
    for (const s of streams) s.stream.end()
    const finish = (async () => {
      try {
        let rows = copy.firstRows ?? 0
        for (const n of await Promise.all(streams.map((s) => s.done))) rows += n
        if (copy.freeze) await copy.first.conn.client.query('COMMIT')
        this.rows[copy.table] = (this.rows[copy.table] ?? 0) + rows
        this.totalRows += rows
        this.tablesDone++
        this.progress(true)
      } catch (err) {
        throw err === this.failure ? err : copyError(err, copy.info, copy.dataLine, copy.parts !== undefined)
      } finally {
        if (!copy.onMain) for (const s of streams) this.pool!.release(s.conn)
      }
    })().catch((err) => this.fail(err))
    if (copy.onMain) {
      await this.race(finish)
      // back to the statements' session state (client_encoding)
      await this.race(this.main!.applySession(new Map(this.session)))
      return
    }
    const work = this.tableWork(copy.table)
    work.tail = finish
    work.shared = []
    this.track(finish)
  }

  // ---- progress ----

  private setPhase(phase: LoadPhase): void {
    if (this.phase === phase) return
    this.phase = phase
    this.progress(true)
  }

  private progress(force: boolean): void {
    const cb = this.opts.onProgress
    if (!cb) return
    const now = Date.now()
    if (!force && now - this.lastProgress < (this.opts.progressIntervalMs ?? 250)) return
    this.lastProgress = now
    const p: LoadProgress = {
      phase: this.phase,
      statements: this.statements,
      tablesDone: this.tablesDone,
      tablesSeen: this.tablesSeen,
      rows: this.totalRows,
      bytesRead: this.bytesRead,
      elapsedMs: now - this.started,
    }
    if (this.file?.compressedBytes !== undefined) {
      p.compressedBytesRead = this.file.fileBytesRead()
      p.compressedBytesTotal = this.file.compressedBytes
    } else if (this.file) {
      p.bytesTotal = this.file.fileBytes
    }
    try {
      cb(p)
    } catch {
      // a broken progress display must not break the import
    }
  }
}

interface CopyStream {
  conn: LoaderConnection
  stream: ReturnType<typeof copyFrom>
  /** Rows the server took, once this COPY has finished. */
  done: Promise<number>
}

interface CopyInProgress {
  table: string
  info: StatementInfo
  dataLine: number
  onMain: boolean
  /** The first COPY runs in a BEGIN; TRUNCATE; ... FREEZE transaction not yet committed. */
  freeze: boolean
  /** Plain text COPY on a worker: may be spread over several. */
  splittable: boolean
  /** Data bytes so far. */
  bytes: number
  /** The block's first COPY (its only one unless the block is spread). */
  first: CopyStream
  /** Spread mode: the parallel COPYs for the rest of the block, and the first COPY's rows. */
  parts?: CopyStream[]
  firstRows?: number
  /** Spread mode: the start of a row whose end has not arrived yet. */
  carry?: Buffer
}

/**
 * Work dispatched on one table: `tail` is the last statement that needs the table to itself (COPY,
 * most DDL), `shared` the index builds started after it, `attach` the constraint attaches held back
 * until those builds are done (see schedule()).
 */
interface TableWork {
  tail?: Promise<void>
  shared: Promise<void>[]
  attach: { info: StatementInfo; session: SessionState }[]
}

/**
 * The database a psql `\connect` argument names: `db`, `"db"`, or pg_dump --create's
 * `-reuse-previous=on "dbname='db'"`; undefined when it names none (psql then keeps the current one).
 */
export function connectTarget(args: string): string | undefined {
  const rest = args.replace(/^-reuse-previous=\S*\s*/, '').trim()
  if (!rest || rest === '-' || rest.startsWith('- ')) return undefined
  const word = /^"((?:[^"]|"")*)"|^(\S+)/.exec(rest)
  const first = word?.[1] !== undefined ? word[1].replace(/""/g, '"') : (word?.[2] ?? '')
  const conninfo = /(?:^|\s)dbname\s*=\s*(?:'((?:[^'\\]|\\.)*)'|(\S+))/.exec(first)
  if (conninfo) return (conninfo[1] ?? conninfo[2] ?? '').replace(/\\(.)/g, '$1')
  return first
}

function isDumpFile(x: unknown): x is DumpFile {
  return typeof x === 'object' && x !== null && 'stream' in x && 'fileBytesRead' in x
}

function drained(s: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      s.off('error', onError)
      resolve()
    }
    const onError = (err: Error) => {
      s.off('drain', onDrain)
      reject(err)
    }
    s.once('drain', onDrain)
    s.once('error', onError)
  })
}

function countLines(s: string): number {
  let n = 0
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++
  return n
}

function pgCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string' ? (err as { code: string }).code : undefined
}

function serverFields(err: unknown) {
  const e = (err ?? {}) as Partial<pg.DatabaseError> & { message?: string }
  return { serverMessage: e.message ?? String(err), detail: e.detail, hint: e.hint, code: e.code, where: e.where }
}

function statementError(err: unknown, info: StatementInfo, extension?: string): Error {
  if (err instanceof DumpLoadError || err instanceof DumpLoadCancelledError) return err
  const fields = serverFields(err)
  const details = { ...fields, statement: excerpt(info.dumped ?? info.sql), position: info.position, cause: err }
  if (extension && /is not available|could not open extension control file/i.test(fields.serverMessage)) {
    return new MissingExtensionError(extension, details)
  }
  if (!fields.code) return new DumpLoadError('lost the connection to the target database while running a statement', details)
  const missing = missingCapability(fields.serverMessage, fields.detail)
  if (missing) return new UnsupportedObjectError(dumpedObject(info.dumped ?? info.sql), missing.what, missing.fix, details)
  return new DumpLoadError('statement failed', details)
}

/** What the server lacks, when its refusal says so: a build option, or a C library. */
function missingCapability(message: string, detail?: string): { what: string; fix: string } | undefined {
  let m: RegExpExecArray | null
  if ((m = /compression method (\w+) not supported/i.exec(message))) {
    return {
      what: `${m[1]} compression support (this PostgreSQL is built without it${detail ? `: ${detail}` : ''})`,
      fix: `set PG_BIN_DIR to a PostgreSQL built with ${m[1]} (Debian's postgresql packages are), or RUNTIME=container; or change the column in production (ALTER TABLE ... ALTER COLUMN ... SET COMPRESSION pglz)`,
    }
  }
  if ((m = /could not (?:access|load) (?:file|library) "([^"]+)"/i.exec(message))) {
    return {
      what: `the C library ${m[1]}, which this server does not have`,
      fix: `install that library for this server (into its pkglibdir), or set PG_BIN_DIR to a PostgreSQL that has it; a function the app never calls can be dropped in production`,
    }
  }
  return undefined
}

/** The object a DDL statement makes, for messages: "CREATE FUNCTION public.f(integer)". */
function dumpedObject(sql: string): string {
  const flat = excerpt(sql, 2000)
  const m = /^((?:CREATE|ALTER)\s+(?:OR\s+REPLACE\s+)?(?:UNLOGGED\s+)?(?:MATERIALIZED\s+VIEW|[A-Z]+)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:ONLY\s+)?(?:"(?:[^"]|"")*"|[^\s(]+)(?:\([^)]*\))?)/i.exec(flat)
  return m ? m[1]! : excerpt(sql, 80)
}

function copyError(err: unknown, info: StatementInfo, dataLine: number, part = false): Error {
  if (err instanceof DumpLoadError || err instanceof DumpLoadCancelledError) return err
  const fields = serverFields(err)
  // the server counts COPY data lines from 1; map that back to the dump's line (a part of a spread
  // block counts from its own first row, which no dump line number is kept for)
  const m = /^COPY [^,]+, line (\d+)/.exec(fields.where ?? '')
  const position = m && !part ? { line: dataLine + Number(m[1]) - 1, offset: info.position.offset } : info.position
  const summary = !m
    ? 'COPY failed'
    : part
      ? `COPY data rejected (row ${m[1]} of one of the parallel parts of the block started by ${excerpt(info.sql, 120)} at line ${info.position.line})`
      : `COPY data rejected (row ${m[1]} of the block started by ${excerpt(info.sql, 120)})`
  return new DumpLoadError(summary, { ...fields, statement: excerpt(info.sql), position, cause: err })
}
