// Small pass-through meters used by a pull: wire bytes + progress, and sha256 + size of what is stored.
import { createHash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'

export interface PullProgress {
  /** Bytes received from the source (compressed on the wire when the source compresses). */
  bytes: number
  /** Plain-SQL bytes of the dump so far. */
  dumpBytes: number
  elapsedMs: number
  /** Wire bytes per second since the start. */
  bytesPerSecond: number
  /** True on the last call, once the snapshot is committed. */
  done: boolean
}

export type ProgressCallback = (p: PullProgress) => void

const PROGRESS_INTERVAL_MS = 200

export class ProgressMeter extends Transform {
  private bytes = 0
  private lastReport = 0

  constructor(
    private readonly startedAt: number,
    private readonly onProgress: ProgressCallback | undefined,
    private readonly dumpBytes: () => number,
  ) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length
    const now = Date.now()
    if (this.onProgress && now - this.lastReport >= PROGRESS_INTERVAL_MS) {
      this.lastReport = now
      this.report(false)
    }
    cb(null, chunk)
  }

  report(done: boolean): void {
    if (!this.onProgress) return
    const elapsedMs = Date.now() - this.startedAt
    // A failing progress renderer must not fail (or half-write) the pull.
    try {
      const r = this.onProgress({
        bytes: this.bytes,
        dumpBytes: this.dumpBytes(),
        elapsedMs,
        bytesPerSecond: elapsedMs > 0 ? Math.round((this.bytes * 1000) / elapsedMs) : 0,
        done,
      }) as unknown
      if (r instanceof Promise) r.catch(() => {})
    } catch {
      // ignored on purpose, see above
    }
  }
}

export class HashCounter extends Transform {
  private readonly hash = createHash('sha256')
  bytes = 0

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk)
    this.bytes += chunk.length
    cb(null, chunk)
  }

  digest(): string {
    return this.hash.digest('hex')
  }
}

/** Fails the stream when it does not deliver exactly `expected` bytes (a last line of defence on import). */
export class LengthCheck extends Transform {
  private seen = 0
  constructor(private readonly expected: number, private readonly onMismatch: (seen: number) => Error) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length
    cb(null, chunk)
  }
  override _flush(cb: TransformCallback): void {
    cb(this.seen === this.expected ? null : this.onMismatch(this.seen))
  }
}
