// The dump loader: imports a plain-SQL pg_dump (pg_dump --clean --if-exists --no-owner --no-acl,
// PostgreSQL 15-17) into a PostgreSQL database without psql, which the embedded PostgreSQL packages
// lack. The same code runs on the host and inside the container.
//
//   loadDump(opts: LoadDumpOptions): Promise<LoadResult>
//     opts.connection  pg.ClientConfig of the target database (empty, or holding an earlier load of
//                      the same --clean dump, which then replaces it)
//     opts.input       Readable | AsyncIterable<Buffer> of plain SQL, or a DumpFile from openDumpFile()
//     opts.parallel    worker connections (default: CPUs, min 2); one more "main" connection is used
//     opts.onProgress  (p: LoadProgress) => void, throttled to progressIntervalMs (default 250 ms)
//     opts.signal      AbortSignal: terminates in-flight queries, closes connections, rejects with
//                      DumpLoadCancelledError (a CancelledError)
//     Resolves with { statements, tables, rows: { 'public.users': n, ... }, bytes, durationMs,
//     serverVersion, dumpedFrom?, dumpedBy?, warnings }.
//     Rejects with a DumpLoadError (or subclass: TruncatedDumpError, DumpFormatError,
//     UnknownMetaCommandError, MissingExtensionError) naming the statement, its line and byte offset in
//     the dump and the server's message. On any rejection all loader connections have been terminated
//     and THE TARGET DATABASE IS LEFT IN AN UNDEFINED, HALF-IMPORTED STATE: drop it (or stop the
//     throwaway server) before trying again.
//
//   openDumpFile(path: string): DumpFile
//     { stream, compression: 'none'|'gzip'|'brotli', fileBytes, compressedBytes?, fileBytesRead() };
//     gzip is recognised by its magic bytes, brotli by the .br extension.
//
//   splitStatements(input: AsyncIterable<Buffer | string>, opts?): AsyncGenerator<DumpItem>
//     the lexer on its own (statements, COPY blocks, meta-commands, top-level comments).
//
// Like psql (without ON_ERROR_STOP) it passes over what pg_dump documents as harmless: a failing
// DROP ... IF EXISTS of --clean (e.g. a partition's inherited constraint) and a SET of a parameter this
// server does not know (e.g. transaction_timeout from pg_dump 17 on PostgreSQL 15); both go into
// `warnings`. Every other error stops the load.
// Memory stays bounded: one input chunk, one statement, and at most copyBufferBytes (16 MiB) queued per
// worker; the dump is never held whole.
//
// Dumps are expected without --create: a \connect to another database is refused
// (ConnectMetaCommandError), one to the database being loaded is a no-op. --inserts dumps work but run one statement at a time on one connection.
//
// What the loader expects from the server (the runtime sets these; the loader only sets session
// settings): fsync=off, full_page_writes=off, wal_level=minimal with max_wal_senders=0 (table data
// loaded by TRUNCATE + COPY FREEZE in one transaction then skips WAL), autovacuum=off while importing,
// large max_wal_size/checkpoint_timeout. Per session the loader sets synchronous_commit=off and a
// large maintenance_work_mem for index builds.
export { loadDump, type LoadDumpOptions, type LoadProgress, type LoadResult, type LoadPhase } from './load-dump.ts'
export { openDumpFile, type DumpFile } from './open-dump-file.ts'
export { splitStatements, DumpLexer, type DumpItem, type SplitOptions } from './split-statements.ts'
export {
  DumpLoadError,
  TruncatedDumpError,
  DumpFormatError,
  UnknownMetaCommandError,
  ConnectMetaCommandError,
  MissingExtensionError,
  UnsupportedObjectError,
  DumpLoadCancelledError,
  type DumpPosition,
} from './errors.ts'
