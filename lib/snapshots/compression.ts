// How snapshots are stored at rest, and the one place any compressed stream is decoded: the store's pull
// and import, the loader's openDumpFile, export, the registry's chunks, the anonymizer's rescan and the
// dump inspector's input all take their decoder from decoderFor().
//
// At rest: zstd level 5, multithreaded (-T0) through the system `zstd` binary when it is installed,
// else node:zlib's zstd (Node 22.15+, 24), single-threaded. Measured on the 64 MB demo dump (lib/demo,
// 67,108,763 bytes), 2 cores, zstd 1.5.4, load average ~7 from other test runs, so times are inflated:
//   gzip -6 10,007,746 B 3.74 s   zstd -3 10,405,894 B 1.19 s   zstd -4 10,338,718 B 1.08 s (--long=27)
//   zstd -5  9,334,879 B 2.15 s (-T0, 1.65 s of CPU)   zstd -6 8,721,026 B 5.12 s
// The issue's 384 MB figures agree: zstd -3 is 62.1 MB against gzip -6's 59.7 MB. Level 5 is the lowest
// level no larger than gzip -6 (-3 and -4 are larger, also with long-distance matching); zstd -d decodes
// at ~1 GB/s, ten times brotli. node:zlib's multithreaded mode (ZSTD_c_nbWorkers > 0) fails as a stream
// on Node 22.23 and 24.21 (ERR_STREAM_PUSH_AFTER_EOF), hence the binary first. The two encoders (Debian's
// zstd 1.5.4, Node's 1.5.7) do not write identical bytes, but either decodes the other's frames to the
// same SQL; the manifest's sha256 is of the stored file, so nothing depends on the encoder's exact bytes.
// Snapshots stored by earlier versions (brotli q6, `<sha256>.sql.br`) stay readable: the manifest names
// the compression of its data file.
import zlib from 'node:zlib'
import { Duplex } from 'node:stream'
import { RotvError } from '../errors.ts'
import { spawnProcess, type ManagedProcess } from '../process/index.ts'
import { commandExists } from '../process/resolve.ts'
import type { StreamFormat } from '../sources/types.ts'

export type AtRestCompression = 'brotli' | 'zstd'
export const AT_REST_COMPRESSION: AtRestCompression = 'zstd'
export const ZSTD_LEVEL = 5
/** Kept for snapshots written by earlier versions. */
export const BROTLI_QUALITY = 6
export const BROTLI_WINDOW_BITS = 24

/** Which zstd implementation: the system binary (multithreaded) or node:zlib (in-process, one thread). */
export type ZstdEngine = 'binary' | 'zlib'

export class ZstdUnavailableError extends RotvError {
  constructor() {
    super(`zstd is not available: this Node.js (${process.version}) has no zstd in node:zlib and no zstd program is on PATH`, {
      fix: 'install zstd (Debian/Ubuntu: apt-get install zstd), or use Node.js 22.15 or newer',
    })
  }
}

/** The data file's name ending for a compression. */
export function extensionOf(compression: AtRestCompression): string {
  return compression === 'zstd' ? '.sql.zst' : '.sql.br'
}
export const AT_REST_EXTENSION = extensionOf(AT_REST_COMPRESSION)

export function createAtRestCompressor(opts: { engine?: ZstdEngine } = {}): Duplex {
  const engine = opts.engine ?? (hasZstdBinary() ? 'binary' : nodeHasZstd() ? 'zlib' : undefined)
  if (engine === 'binary') return new ProcessTransform('zstd', ['-q', `-${ZSTD_LEVEL}`, '-T0', '-c'])
  if (engine === 'zlib' && nodeHasZstd()) {
    const c = zlib.constants as unknown as Record<string, number>
    // The checksum the zstd program writes by default: a damaged frame is refused while decoding.
    return zstdZlib().createZstdCompress({ params: { [c.ZSTD_c_compressionLevel!]: ZSTD_LEVEL, [c.ZSTD_c_checksumFlag!]: 1 } })
  }
  throw new ZstdUnavailableError()
}

/** The decoder of a stored snapshot's data file. */
export function createAtRestDecompressor(format: AtRestCompression = AT_REST_COMPRESSION, opts: { engine?: ZstdEngine } = {}): Duplex {
  if (format !== 'brotli' && format !== 'zstd') throw new Error(`unknown snapshot compression ${String(format)}`)
  return decoderFor(format, opts)!
}

/** The decoder turning a stream into plain SQL, or none for plain. The one decode function. */
export function decoderFor(format: StreamFormat, opts: { engine?: ZstdEngine; chunkSize?: number } = {}): Duplex | undefined {
  const chunkSize = opts.chunkSize ?? 256 * 1024
  switch (format) {
    case 'plain':
      return undefined
    case 'gzip':
      return zlib.createGunzip({ chunkSize })
    case 'brotli':
      return zlib.createBrotliDecompress({ chunkSize })
    case 'zstd': {
      const engine = opts.engine ?? (nodeHasZstd() ? 'zlib' : hasZstdBinary() ? 'binary' : undefined)
      if (engine === 'zlib' && nodeHasZstd()) return zstdZlib().createZstdDecompress({ chunkSize })
      if (engine === 'binary') return new ProcessTransform('zstd', ['-q', '-d', '-c'])
      throw new ZstdUnavailableError()
    }
  }
}

/** A whole buffer decoded (registry chunks), through the same decoders. */
export async function decodeBuffer(format: StreamFormat, data: Buffer): Promise<Buffer> {
  const decoder = decoderFor(format)
  if (!decoder) return data
  const parts: Buffer[] = []
  return new Promise<Buffer>((resolve, reject) => {
    decoder.on('data', (b: Buffer) => parts.push(b))
    decoder.once('error', reject)
    decoder.once('end', () => resolve(Buffer.concat(parts)))
    decoder.end(data)
  })
}

/** What a file's first bytes (and, for brotli, which has no magic bytes, its name) say it is. */
export function formatOfBytes(head: Buffer, path = ''): StreamFormat {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd'
  return /\.br$/i.test(path) ? 'brotli' : 'plain'
}

export function nodeHasZstd(): boolean {
  return typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function'
}

let binaryFound: boolean | undefined
export function hasZstdBinary(): boolean {
  binaryFound ??= commandExists('zstd', process.env.PATH)
  return binaryFound
}

interface ZstdZlib {
  createZstdCompress(opts: { params: Record<number, number> }): Duplex
  createZstdDecompress(opts: { chunkSize: number }): Duplex
}
const zstdZlib = (): ZstdZlib => zlib as unknown as ZstdZlib

/**
 * A child process as a Transform: written bytes go to its stdin, its stdout is the readable side. Both
 * sides keep node's backpressure (a full pipe pauses the writer, a slow reader pauses the child's
 * stdout). It fails with the child's stderr when the child exits non-zero, and destroying it stops the
 * child (an aborted pull leaves no zstd behind).
 */
class ProcessTransform extends Duplex {
  private readonly proc: ManagedProcess
  private stdoutEnded = false
  private exited: Promise<void>

  constructor(command: string, args: string[]) {
    super({ readableHighWaterMark: 1 << 20, writableHighWaterMark: 1 << 20 })
    this.proc = spawnProcess(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const { child } = this.proc
    child.stdin!.on('error', () => {}) // EPIPE when the child died: reported from its exit below
    child.stdout!.on('data', (b: Buffer) => {
      if (!this.push(b)) child.stdout!.pause()
    })
    child.stdout!.once('end', () => (this.stdoutEnded = true))
    this.exited = this.proc.done.then((r) => {
      if (this.destroyed) return
      if (!r.ok) {
        const why = r.spawnError ? new ZstdUnavailableError() : new ZstdProcessError(`${command} failed (${r.signal ?? `exit ${r.exitCode}`}): ${r.stderr.trim() || 'no message'}`)
        this.destroy(why)
        return
      }
      if (this.stdoutEnded) this.push(null)
    })
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const stdin = this.proc.child.stdin!
    if (stdin.write(chunk)) cb()
    else {
      const onDrain = (): void => {
        stdin.off('close', onDrain)
        stdin.off('drain', onDrain)
        cb()
      }
      stdin.once('drain', onDrain)
      stdin.once('close', onDrain) // the child died: its exit reports why
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.proc.child.stdin!.end(() => cb())
  }

  override _read(): void {
    this.proc.child.stdout!.resume()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // 'close' only once the child is reaped: whoever waits for it knows no zstd is left.
    void this.proc.stop(1_000).then(() => this.proc.done).finally(() => cb(err))
  }

  /** Resolves once the child has exited (tests: no zstd left behind). */
  whenExited(): Promise<void> {
    return this.exited
  }
}

export class ZstdProcessError extends RotvError {
  constructor(message: string) {
    super(message, { fix: 'the data is damaged or cut short: pull the snapshot again' })
  }
}
