// The fork of a pull's plain SQL: one branch continues to the compressor and the temp file, the other
// feeds a second consumer (the loader importing into a fresh cluster) at the same time. Each chunk is
// handed on only when the side branch has room (its buffer is bounded), so the slower consumer paces the
// pull and nothing is buffered without limit. A side consumer that fails is cut loose: the pull goes on
// and commits a good snapshot; the consumer's own promise says why it failed.
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream'

/** Reads the plain SQL of a pull while it is stored; its promise settles when it is done with it. */
export type PlainSqlConsumer = (sql: Readable) => Promise<unknown>

export class SideTee extends Transform {
  readonly side: PassThrough
  private detached = false

  /**
   * `verdict` is asked at the end of the stream: an error there (a dump without its completion trailer)
   * errors the side branch instead of ending it, so the consumer never takes a cut-off dump for a whole one.
   */
  constructor(private readonly verdict: () => Error | undefined = () => undefined, highWaterMark = 4 << 20) {
    super({ highWaterMark: 1 << 20 })
    this.side = new PassThrough({ highWaterMark })
    // A consumer that stops reading with an error (or destroys its input) no longer holds the pull back.
    this.side.once('close', () => this.detach())
    this.side.on('error', () => this.detach())
  }

  /** The side consumer gave up: stop feeding it (what it was handed is dropped with it). */
  detach(): void {
    this.detached = true
    this.emit('side-drain')
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.detached || this.side.destroyed) return cb(null, chunk)
    if (this.side.write(chunk)) return cb(null, chunk)
    const go = (): void => {
      this.side.off('drain', go)
      this.off('side-drain', go)
      cb(null, chunk)
    }
    this.side.once('drain', go)
    this.once('side-drain', go)
  }

  override _flush(cb: TransformCallback): void {
    if (!this.detached && !this.side.destroyed) {
      const err = this.verdict()
      if (err) this.side.destroy(err)
      else this.side.end()
    }
    cb()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // The pull failed: the side consumer must not take a cut-off dump for a whole one.
    if (!this.side.destroyed && !this.side.writableFinished) this.side.destroy(err ?? new Error('the pull stopped before the end of the dump'))
    cb(err)
  }
}
