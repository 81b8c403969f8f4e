// The `file` source: a dump somebody handed over (.sql, .sql.gz, .sql.zst, .sql.br). gzip and zstd are
// recognised by their magic bytes; brotli has none, so it is recognised by the .br extension.
// A custom-format archive (pg_dump -Fc, "PGDMP" magic) is turned into plain SQL by a local pg_restore
// with the flags the tool's own pulls give pg_dump, when one is at hand; otherwise it is named as what
// it is, with the fix.
import { createReadStream, existsSync, readdirSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { delimiter, join, resolve } from 'node:path'
import type { DumpStream, SnapshotSource, SourceCompletion, SourceSpec, StreamFormat } from './types.ts'
import { formatOfBytes } from '../snapshots/compression.ts'
import { RotvError } from '../errors.ts'
import { spawnProcess, tail } from '../process/index.ts'

/** A custom-format (pg_dump -Fc) or tar-format (-Ft) archive, and no pg_restore here to read it. */
export class ArchiveFormatDumpError extends RotvError {
  constructor(path: string, format: 'custom' | 'tar') {
    const flag = format === 'custom' ? '-Fc' : '-Ft'
    super(`${path} is a ${format}-format pg_dump archive (pg_dump ${flag}), not a plain-SQL dump, and no pg_restore was found to convert it`, {
      fix: `install the PostgreSQL client (apt-get install postgresql-client) or set PG_BIN_DIR to a PostgreSQL bin directory with pg_restore; or convert it yourself: pg_restore --clean --if-exists --no-owner --no-acl -f dump.sql ${path}`,
    })
  }
}

/** pg_restore could not read the archive (most often: made by a newer pg_dump than this pg_restore). */
export class ArchiveRestoreError extends RotvError {
  constructor(path: string, pgRestore: string, stderr: string) {
    super(`${pgRestore} could not convert ${path} to plain SQL: ${tail(stderr.trim(), 5) || 'it failed'}`, {
      fix: /unsupported version/i.test(stderr)
        ? 'the archive was made by a newer pg_dump than this pg_restore: set PG_BIN_DIR to the bin directory of a PostgreSQL at least as new as the one that dumped it'
        : `check the archive (pg_restore -l ${path}); an archive cut short must be dumped again`,
    })
  }
}

/** Plain SQL from a pg_dump archive: pg_restore's output, with the flags the tool's own pulls use. */
export function restoreArchive(path: string, pgRestore: string, signal?: AbortSignal): DumpStream {
  const child = spawnProcess(pgRestore, ['--clean', '--if-exists', '--no-owner', '--no-acl', '-f', '-', path], { signal })
  const base = { signals: {}, stderr: '' }
  const done: Promise<SourceCompletion> = child.done.then((r) =>
    r.ok
      ? { ok: true, ...base, exitCodes: { pg_restore: 0 } }
      : { ok: false, ...base, exitCodes: { pg_restore: r.exitCode }, stderr: r.stderr, error: new ArchiveRestoreError(path, pgRestore, r.stderr) },
  )
  return { stream: child.stdout!, format: 'plain', meta: { kind: 'file', host: path, description: `file ${path} (converted by ${pgRestore})` }, done }
}

/** The newest pg_restore at hand: PG_BIN_DIR's, Debian's per-version ones, then PATH's. */
export function findPgRestore(pgBinDir = process.env.PG_BIN_DIR): string | undefined {
  const candidates: string[] = []
  if (pgBinDir) candidates.push(join(pgBinDir, 'pg_restore'))
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    for (const v of readdirSync(debian).sort((a, b) => Number(b) - Number(a))) candidates.push(join(debian, v, 'bin', 'pg_restore'))
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'pg_restore'))
  return candidates.find((c) => existsSync(c))
}

export class DumpFileNotFoundError extends RotvError {
  constructor(path: string) {
    super(`dump file not found: ${path}`, { fix: 'check the path (e.g. SEED_FILE), or pull from a server instead' })
  }
}

export function fileSource(spec: SourceSpec, deps: { findPgRestore?: () => string | undefined } = {}): SnapshotSource {
  if (!spec.file) throw new RotvError(`source "${spec.name}" (file) has no file`, { fix: `set ${spec.name === 'production' ? 'SEED_FILE' : `${spec.name.toUpperCase()}_FILE`} to a .sql, .sql.gz, .sql.zst or .sql.br dump` })
  const path = resolve(spec.file)
  return {
    spec,
    describe: () => `file ${path}`,
    async open(opts = {}): Promise<DumpStream> {
      const format = await detectFormat(path)
      if (format === 'custom' || format === 'tar') {
        const pgRestore = (deps.findPgRestore ?? findPgRestore)()
        if (!pgRestore) throw new ArchiveFormatDumpError(path, format)
        return restoreArchive(path, pgRestore, opts.signal)
      }
      const stream = createReadStream(path, { highWaterMark: 1 << 20, signal: opts.signal })
      const done = new Promise<SourceCompletion>((resolveDone) => {
        const base = { exitCodes: {}, signals: {}, stderr: '' }
        stream.once('end', () => resolveDone({ ok: true, ...base }))
        stream.once('error', (err) =>
          resolveDone({ ok: false, ...base, stderr: err.message, error: new RotvError(`reading ${path} failed: ${err.message}`, { fix: 'check the file' }) }),
        )
      })
      return { stream, format, meta: { kind: 'file', host: path, description: `file ${path}` }, done }
    },
  }
}

async function detectFormat(path: string): Promise<StreamFormat | 'custom' | 'tar'> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DumpFileNotFoundError(path)
    throw err
  }
  try {
    const head = Buffer.alloc(512)
    const { bytesRead } = await handle.read(head, 0, 512, 0)
    if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return 'custom'
    // a tar archive ("ustar" at 257) whose first member is pg_dump -Ft's table of contents
    if (bytesRead === 512 && head.subarray(257, 262).toString('latin1') === 'ustar' && head.subarray(0, 8).toString('latin1') === 'toc.dat\0') return 'tar'
    return formatOfBytes(head.subarray(0, bytesRead), path)
  } finally {
    await handle.close()
  }
}
