// `snapshots export NAME`: one file to hand to a contractor. Only what may leave the machine
// (assertMayLeave: synthetic, or anonymized with every personal-looking column ruled), unless forced.
// The format follows the file name: the stored file's own format (.sql.zst, or .sql.br for a snapshot
// stored by an earlier version) is the file itself (checked against the manifest's sha256 while
// copying); any other is decoded from it and, for .sql.gz/.sql.zst/.sql.br, compressed again. Written to a temp file and renamed,
// so an interrupted export never leaves a half file under the final name.
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import { RotvError } from '../errors.ts'
import { assertMayLeave, type EgressVerdict } from '../anonymize/egress.ts'
import { createAtRestCompressor } from './compression.ts'
import { CorruptSnapshotError } from './errors.ts'
import type { SnapshotManifest } from './manifest.ts'
import type { SnapshotStore } from './store.ts'

export type ExportFormat = 'zstd' | 'brotli' | 'gzip' | 'plain'

export interface ExportOptions {
  /** Target file; its ending picks the format (.sql.zst, .sql.br, .sql.gz, .sql). Default ./NAME.sql.gz */
  out?: string
  /** Export a snapshot that may not leave the machine (not anonymized, or personal columns unruled). */
  force?: boolean
  signal?: AbortSignal
}

export interface ExportResult {
  path: string
  format: ExportFormat
  bytes: number
  manifest: SnapshotManifest
  /** Why it was allowed out; `warning` is set when forced and must be shown once. */
  verdict: EgressVerdict
}

export class ExportTargetError extends RotvError {}

export async function exportSnapshot(store: SnapshotStore, name: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const path = resolve(opts.out ?? `${name}.sql.gz`)
  const format = formatOf(path)
  const manifest = await store.verify(name)
  const verdict = assertMayLeave(manifest, { force: opts.force, action: 'export', forceFlag: '--force' })
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  // Personal data (a forced export) is readable by its owner only.
  const out = createWriteStream(tmp, { flags: 'wx', mode: verdict.reason === 'forced' ? 0o600 : 0o644 })
  try {
    if (format === manifest.compression) {
      const check = new Sha256Check()
      await pipeline(createReadStream(join(store.pathOf(name), manifest.dataFile), { highWaterMark: 1 << 20 }), check, out, { signal: opts.signal })
      // A pull may have replaced the file since verify(): only the verified bytes may leave.
      if (check.digest() !== manifest.sha256) throw new CorruptSnapshotError(name, 'the data file changed during the export; export again')
    } else {
      const opened = await store.openForImport(name)
      const encoder = format === 'gzip' ? zlib.createGzip({ level: 6 }) : format === 'zstd' ? createAtRestCompressor() : format === 'brotli' ? zlib.createBrotliCompress() : undefined
      if (encoder) await pipeline(opened.stream, encoder, out, { signal: opts.signal })
      else await pipeline(opened.stream, out, { signal: opts.signal })
    }
    await rename(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && format === manifest.compression) throw new CorruptSnapshotError(name, 'the data file was replaced during the export; export again')
    if (err instanceof RotvError) throw err
    throw new ExportTargetError(`writing ${path} failed: ${(err as Error).message}`, { fix: `check that ${dirname(path)} exists and is writable`, cause: err })
  } finally {
    await rm(tmp, { force: true })
  }
  return { path, format, bytes: (await stat(path)).size, manifest, verdict }
}

function formatOf(path: string): ExportFormat {
  if (path.endsWith('.sql.zst')) return 'zstd'
  if (path.endsWith('.sql.br')) return 'brotli'
  if (path.endsWith('.sql.gz')) return 'gzip'
  if (path.endsWith('.sql')) return 'plain'
  throw new ExportTargetError(`cannot tell the format of ${path}`, { fix: 'end --out with .sql.gz (gzip), .sql.zst (zstd, as stored), .sql.br (brotli) or .sql (plain)' })
}

class Sha256Check extends Transform {
  private readonly hash = createHash('sha256')
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk)
    cb(null, chunk)
  }
  digest(): string {
    return this.hash.digest('hex')
  }
}
