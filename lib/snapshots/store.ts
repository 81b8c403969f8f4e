// Named, compressed, verified snapshots under <home>/snapshots/NAME/:
//   manifest.json        the commit point (written temp + fsync + rename)
//   <sha256>.sql.zst     content-addressed data file(s) (.sql.br: brotli, from earlier versions); unreferenced
//                        ones are removed after a commit
//   .pull.lock           one pull per name at a time
//   .pull-*.tmp          a pull in progress (same directory, so the final rename is atomic)
// A reader opens the manifest, then the data file it names, and keeps the fd: a later pull that replaces
// and unlinks that file cannot change what the reader gets. A pull that fails at any point leaves the
// previous manifest and data file untouched.
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { chmod, mkdir, open, readdir, rename, rm, stat, utimes, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { pipeline as pipelineCb, type Duplex, type Readable, type Transform } from 'node:stream'
import { CancelledError, RotvError } from '../errors.ts'
import { createSource, isSnapshotSource } from '../sources/index.ts'
import type { DumpStream, SnapshotSource, SourceSpec } from '../sources/types.ts'
import { AT_REST_COMPRESSION, AT_REST_EXTENSION, createAtRestCompressor, createAtRestDecompressor, decoderFor } from './compression.ts'
import { DUMP_TRAILER, DumpInspector } from './dump-inspector.ts'
import {
  CorruptSnapshotError,
  EmptyDumpError,
  TrailingGarbageError,
  InvalidSnapshotNameError,
  SnapshotNotFoundError,
  SnapshotWriteError,
  TruncatedDumpError,
} from './errors.ts'
import { fsyncDir, MANIFEST_FILE, readManifest, writeManifestAtomic, type SnapshotManifest } from './manifest.ts'
import { acquirePullLock } from './pull-lock.ts'
import { HashCounter, LengthCheck, ProgressMeter, type ProgressCallback } from './stream-meters.ts'
import { SideTee, type PlainSqlConsumer } from './tee.ts'
import { AnonymizeStream, type AnonymizeSettings } from '../anonymize/stream.ts'
import { mergeRescan } from '../anonymize/report.ts'
import { rescanForLeaks } from '../anonymize/rescan.ts'
import { FINGERPRINTS_SUFFIX, writeFingerprints } from '../anonymize/fingerprints.ts'

export interface PullOptions {
  /** Snapshot name to store under; default the source spec's name. */
  as?: string
  onProgress?: ProgressCallback
  signal?: AbortSignal
  /** Record an older pull time (adopting a legacy dump keeps its age). Default now. */
  pulledAt?: Date
  /** Rewrite personal data in flight (before compression and the temp file): the stored snapshot is
   * anonymized. Unset: stored as pulled. */
  anonymize?: AnonymizeSettings
  /**
   * A second consumer of the plain SQL (after anonymizing), fed while the snapshot is stored: e.g. the
   * loader into a fresh cluster. The slower of it and the compressor paces the pull. Its failure does not
   * fail the pull (the snapshot is committed; its promise says why); a failed pull errors its input. The
   * pull returns once both are done.
   */
  consumer?: PlainSqlConsumer
}

export interface OpenedSnapshot {
  manifest: SnapshotManifest
  /** The verified, decompressed plain-SQL dump. Errors if the bytes differ from the manifest. */
  stream: Readable
  /** Releases the data file early when the stream is not read to the end. */
  close(): Promise<void>
}

export interface SnapshotStore {
  /** The data home the store lives in (e.g. ~/.rotv). */
  readonly home: string
  /** <home>/snapshots */
  readonly root: string
  list(): Promise<SnapshotManifest[]>
  get(name: string): Promise<SnapshotManifest | undefined>
  pull(source: SnapshotSource | SourceSpec, opts?: PullOptions): Promise<SnapshotManifest>
  remove(name: string): Promise<boolean>
  /** Checks size and sha256 of the stored file; throws CorruptSnapshotError / SnapshotNotFoundError. */
  verify(name: string): Promise<SnapshotManifest>
  openForImport(name: string): Promise<OpenedSnapshot>
  /** The snapshot's directory. */
  pathOf(name: string): string
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/
const DATA_FILE_RE = /^[0-9a-f]{64}\.sql\.(zst|br)$/
const OPEN_RETRIES = 5

export function openStore(home: string): SnapshotStore {
  const root = join(home, 'snapshots')
  const dirOf = (name: string) => join(root, checkName(name))

  async function get(name: string): Promise<SnapshotManifest | undefined> {
    const dir = dirOf(name)
    const manifest = await readManifestChecked(dir, name)
    if (!manifest) return undefined
    const mtime = await stat(join(dir, manifest.dataFile)).then((s) => s.mtime, () => undefined)
    return mtime ? { ...manifest, pulledAt: mtime.toISOString() } : manifest
  }

  async function list(): Promise<SnapshotManifest[]> {
    await privateDirs(root).catch(() => undefined) // a store made before 0700 gets it on first use
    const entries = await readdir(root, { withFileTypes: true }).catch(() => [])
    const names = entries.filter((e) => e.isDirectory() && NAME_RE.test(e.name)).map((e) => e.name).sort()
    const out: SnapshotManifest[] = []
    for (const name of names) {
      const m = await get(name).catch(() => undefined)
      if (m) out.push(m)
    }
    return out
  }

  async function pull(src: SnapshotSource | SourceSpec, opts: PullOptions = {}): Promise<SnapshotManifest> {
    const source = isSnapshotSource(src) ? src : createSource(src)
    const name = checkName(opts.as ?? source.spec.name)
    const dir = dirOf(name)
    await privateDirs(root, dir)
    const lock = await acquirePullLock(dir, name)
    const tmp = join(dir, `.pull-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
    // Aborted on any failure too, so a producer (ssh, pg_dump) never outlives the pull.
    const internal = new AbortController()
    const signal = opts.signal ? AbortSignal.any([opts.signal, internal.signal]) : internal.signal
    const cancelled = () => new CancelledError(`pull of "${name}" cancelled; the previous snapshot was kept`)
    let dump: DumpStream | undefined
    let committed: SnapshotManifest | undefined
    try {
      await removeLeftovers(dir)
      if (opts.signal?.aborted) throw cancelled()
      const startedAt = Date.now()
      dump = await source.open({ signal })
      const inspector = new DumpInspector()
      const meter = new ProgressMeter(startedAt, opts.onProgress, () => inspector.result().uncompressedBytes)
      const hasher = new HashCounter()
      const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600 })
      let writeError: unknown
      out.once('error', (err) => (writeError = err))
      const decoder = decoderFor(dump.format)
      // The anonymizer sits before the compressor and the temp file: no unmasked value is ever written.
      const anonymizer = opts.anonymize ? new AnonymizeStream(opts.anonymize) : undefined
      const tee = opts.consumer
        ? new SideTee(() => {
            const f = inspector.result()
            return f.trailerSeen && !f.endedInsideCopy ? undefined : new TruncatedDumpError(name, `it ends without the "${DUMP_TRAILER}" trailer (${f.uncompressedBytes} bytes received)`)
          })
        : undefined
      // Settles, never rejects: the consumer's outcome belongs to the caller, which holds its promise.
      const consumed = tee ? opts.consumer!(tee.side).then(() => tee.detach(), () => tee.detach()) : undefined
      const stages: (Readable | Duplex | NodeJS.WritableStream)[] = [
        dump.stream, meter, ...(decoder ? [decoder] : []), ...(anonymizer ? [anonymizer] : []), inspector, ...(tee ? [tee] : []), createAtRestCompressor(), hasher, out,
      ]
      let pipeError: unknown
      try {
        await pipeline(stages as [Readable, ...Transform[], NodeJS.WritableStream], { signal })
      } catch (err) {
        pipeError = err
        internal.abort()
      }
      const completion = await dump.done
      await consumed
      if (opts.signal?.aborted) throw cancelled()
      // A rules problem (strict coverage, a collision) stops the pull and kills the source: say that, not
      // "the source failed".
      if (anonymizer?.errored && anonymizer.errored instanceof RotvError) throw anonymizer.errored
      // pipeline() destroys every stage with the first error, and on Node 22+ the file stream then emits
      // it too: only an error of the file system itself (ENOSPC, EIO, ...) is a write failure.
      if (writeError && (writeError as NodeJS.ErrnoException).syscall !== undefined) throw new SnapshotWriteError(name, dir, writeError)
      if (!completion.ok) throw completion.error ?? new TruncatedDumpError(name, 'the source failed', completion.stderr)
      if (pipeError) throw new TruncatedDumpError(name, `the stream is cut short or damaged (${(pipeError as Error).message})`, completion.stderr)
      const facts = inspector.result()
      if (facts.uncompressedBytes === 0) throw new EmptyDumpError(name)
      if (!facts.trailerSeen || facts.endedInsideCopy) {
        throw new TruncatedDumpError(name, `it ends without the "${DUMP_TRAILER}" trailer (${facts.uncompressedBytes} bytes received)`, completion.stderr)
      }
      if (facts.statementLines === 0) throw new EmptyDumpError(name, 'holds no SQL at all: only comments and the completion trailer')
      if (facts.garbageAfterTrailer) throw new TrailingGarbageError(name, facts.garbageAfterTrailer.line, facts.garbageAfterTrailer.text)

      let sha256 = hasher.digest()
      let compressedBytes = hasher.bytes
      let uncompressedBytes = facts.uncompressedBytes
      let anonymization = anonymizer?.result()
      if (anonymizer && anonymization?.leakScan && anonymizer.needsRescan()) {
        // Text passed before the personal values it holds were known (see lib/anonymize/rescan.ts).
        const r = await rescanForLeaks(tmp, opts.anonymize!, anonymizer.leakIndex()!, {
          decompressor: () => createAtRestDecompressor(), compressor: createAtRestCompressor, hasher: () => new HashCounter(),
        }, signal)
        anonymization = mergeRescan(anonymization, r.findings)
        if (r.rewritten) ({ sha256, bytes: compressedBytes, uncompressedBytes } = r.rewritten)
      }
      await fsyncFile(tmp)
      const dataFile = `${sha256}${AT_REST_EXTENSION}`
      const pulledAt = opts.pulledAt ?? dump.carried?.pulledAt ?? new Date()
      await utimes(tmp, pulledAt, pulledAt)
      await rename(tmp, join(dir, dataFile))
      if (anonymizer && anonymizer.leakIndex()) await writeFingerprints(dir, sha256, anonymizer.leakIndex()!, anonymization!.saltFingerprint)
      await fsyncDir(dir)
      const manifest: SnapshotManifest = {
        manifestVersion: 1,
        name,
        source: { kind: dump.meta.kind, host: dump.meta.host, database: dump.meta.database, description: dump.meta.description },
        pulledAt: pulledAt.toISOString(),
        pgDumpVersion: facts.pgDumpVersion,
        serverVersion: facts.serverVersion,
        dataFile,
        sha256,
        compression: AT_REST_COMPRESSION,
        compressedBytes,
        uncompressedBytes,
        tables: facts.tables,
        totalRows: facts.totalRows,
        anonymized: anonymizer !== undefined || dump.carried?.anonymized === true,
        ...(dump.meta.kind === 'demo' || dump.carried?.synthetic === true ? { synthetic: true } : {}),
        ...(anonymization ? { anonymization } : dump.carried?.anonymization ? { anonymization: dump.carried.anonymization } : {}),
      }
      await writeManifestAtomic(dir, manifest) // the commit point
      committed = manifest
      await removeUnreferencedData(dir, dataFile)
      meter.report(true)
      return manifest
    } catch (err) {
      if (opts.signal?.aborted && !(err instanceof CancelledError)) throw cancelled()
      if (err instanceof RotvError) throw err
      throw new SnapshotWriteError(name, dir, err)
    } finally {
      internal.abort()
      if (dump) await dump.done
      // A source with more than the dump (a registry artifact's warm cluster) finishes after the commit,
      // under the caller's signal only: the internal one is aborted by now.
      if (dump?.finish) await dump.finish(committed, opts.signal)
      await rm(tmp, { force: true })
      // A failure between the data file's rename and the manifest (ENOSPC at the commit, a kill) must not
      // leave a data file no manifest names: it would hold the space the next pull needs.
      if (!committed) await removeLeftovers(dir).catch(() => undefined)
      await lock.release()
    }
  }

  async function remove(name: string): Promise<boolean> {
    const dir = dirOf(name)
    if (!(await stat(dir).then(() => true, () => false))) return false
    const lock = await acquirePullLock(dir, name)
    try {
      // Readers holding a data file's fd keep reading it; the directory just disappears.
      await rm(dir, { recursive: true, force: true })
      return true
    } finally {
      await lock.release()
    }
  }

  async function openVerified(name: string): Promise<{ manifest: SnapshotManifest; fh: FileHandle }> {
    const dir = dirOf(name)
    for (let attempt = 0; attempt < OPEN_RETRIES; attempt++) {
      const manifest = await readManifestChecked(dir, name)
      if (!manifest) throw new SnapshotNotFoundError(name, (await list().catch(() => [])).map((m) => m.name))
      if (!DATA_FILE_RE.test(manifest.dataFile)) throw new CorruptSnapshotError(name, `manifest names an invalid data file "${manifest.dataFile}"`)
      let fh: FileHandle
      try {
        fh = await open(join(dir, manifest.dataFile), 'r')
      } catch (err) {
        // Replaced (and collected) between reading the manifest and opening: read the new manifest.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw err
      }
      try {
        const st = await fh.stat()
        await checkIntegrity(name, fh, manifest, st.size)
        return { manifest: { ...manifest, pulledAt: st.mtime.toISOString() }, fh }
      } catch (err) {
        await fh.close()
        throw err
      }
    }
    throw new CorruptSnapshotError(name, `the data file named by ${MANIFEST_FILE} is missing`)
  }

  async function verify(name: string): Promise<SnapshotManifest> {
    const { manifest, fh } = await openVerified(name)
    await fh.close()
    return manifest
  }

  async function openForImport(name: string): Promise<OpenedSnapshot> {
    const { manifest, fh } = await openVerified(name)
    const raw = fh.createReadStream({ start: 0, highWaterMark: 1 << 20 }) // closes fh when done
    const check = new LengthCheck(manifest.uncompressedBytes, (seen) =>
      new CorruptSnapshotError(name, `decompressed to ${seen} bytes, manifest says ${manifest.uncompressedBytes}`),
    )
    pipelineCb(raw, createAtRestDecompressor(manifest.compression), check, () => {
      // errors surface on `check`, the stream handed out
    })
    return {
      manifest,
      stream: check,
      close: async () => {
        check.destroy()
        raw.destroy()
        await new Promise<void>((resolve) => (raw.closed ? resolve() : raw.once('close', () => resolve())))
      },
    }
  }

  return { home, root, list, get, pull, remove, verify, openForImport, pathOf: dirOf }
}

export function checkName(name: string): string {
  if (!NAME_RE.test(name)) throw new InvalidSnapshotNameError(name)
  return name
}

async function readManifestChecked(dir: string, name: string): Promise<SnapshotManifest | undefined> {
  try {
    return await readManifest(dir)
  } catch (err) {
    throw new CorruptSnapshotError(name, `${MANIFEST_FILE} is unreadable (${(err as Error).message})`)
  }
}

async function checkIntegrity(name: string, fh: FileHandle, manifest: SnapshotManifest, size: number): Promise<void> {
  if (size !== manifest.compressedBytes) {
    throw new CorruptSnapshotError(name, `${manifest.dataFile} is ${size} bytes, manifest says ${manifest.compressedBytes}`)
  }
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(1 << 20)
  for (let pos = 0; ; ) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos)
    if (bytesRead === 0) break
    hash.update(buf.subarray(0, bytesRead))
    pos += bytesRead
  }
  const actual = hash.digest('hex')
  if (actual !== manifest.sha256) throw new CorruptSnapshotError(name, `sha256 of ${manifest.dataFile} is ${actual}, manifest says ${manifest.sha256}`)
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Only called while holding the pull lock: any temp file here belongs to a dead pull. */
/** Temp files of interrupted pulls, and data files the manifest does not name (under the pull lock). */
async function removeLeftovers(dir: string): Promise<void> {
  for (const f of await readdir(dir)) {
    if (/^\.(pull|manifest)-.*\.tmp$/.test(f)) await rm(join(dir, f), { force: true })
  }
  const current = await readManifest(dir).catch(() => null)
  // An unreadable manifest is left to verify to report; only a readable one (or none) says what is unreferenced.
  if (current === null) return
  await removeUnreferencedData(dir, current?.dataFile ?? '')
}

async function removeUnreferencedData(dir: string, keep: string): Promise<void> {
  for (const f of await readdir(dir)) {
    if (DATA_FILE_RE.test(f) && f !== keep) await rm(join(dir, f), { force: true })
    // The leak scan's fingerprints belong to one data file.
    if (f.endsWith(FINGERPRINTS_SUFFIX) && f !== `${keep.slice(0, 64)}${FINGERPRINTS_SUFFIX}`) await rm(join(dir, f), { force: true })
  }
}

/**
 * Production data is for this user only: the store and each snapshot's folder are 0700 (created so,
 * and tightened when an older version made them 0755), the files in them 0600. The data home itself
 * is left as it is: a root runner's PostgreSQL user must still reach DATA_DIR (default <home>/pgdata).
 */
async function privateDirs(...dirs: string[]): Promise<void> {
  for (const d of dirs) {
    await mkdir(d, { recursive: true, mode: 0o700 })
    const st = await stat(d)
    if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) await chmod(d, st.mode & 0o700)
  }
}
