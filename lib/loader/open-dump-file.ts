// Opening a dump file: plain SQL, or gzip (.gz, recognised by its magic bytes whatever the name) or
// brotli (.br, which has no magic bytes, so by extension) compressed SQL, decompressed as a stream.
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs'
import { PassThrough, Transform, pipeline, type Readable } from 'node:stream'
import { createBrotliDecompress, createGunzip } from 'node:zlib'
import { DumpFormatError } from './errors.ts'

export interface DumpFile {
  /** Plain SQL, decompressed. */
  stream: Readable
  compression: 'none' | 'gzip' | 'brotli'
  /** Size of the file on disk. */
  fileBytes: number
  /** Size of the compressed file, when compressed (same as fileBytes then). */
  compressedBytes?: number
  /** How much of the file has been read so far (compressed bytes when compressed). */
  fileBytesRead(): number
}

const READ_CHUNK = 1024 * 1024

export function openDumpFile(path: string): DumpFile {
  const fd = openSync(path, 'r')
  let fileBytes: number
  let head: Buffer
  try {
    fileBytes = fstatSync(fd).size
    head = Buffer.alloc(5)
    head = head.subarray(0, readSync(fd, head, 0, 5, 0))
  } finally {
    closeSync(fd)
  }
  if (head.toString('latin1') === 'PGDMP') {
    throw new DumpFormatError(`${path} is a custom-format pg_dump archive, not a plain-SQL dump`)
  }
  const compression = head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : /\.br$/i.test(path) ? 'brotli' : 'none'
  const file = createReadStream(path, { highWaterMark: READ_CHUNK })
  let read = 0
  // counts file bytes as they pass; a 'data' listener on the file would start it flowing too early
  const counter = new Transform({
    highWaterMark: READ_CHUNK,
    transform(chunk: Buffer, _enc, done) {
      read += chunk.length
      done(null, chunk)
    },
  })
  const fileBytesRead = () => read
  const stages: (Readable | Transform)[] = [file, counter]
  if (compression !== 'none') {
    stages.push(compression === 'gzip' ? createGunzip({ chunkSize: 256 * 1024 }) : createBrotliDecompress({ chunkSize: 256 * 1024 }))
  }
  const out = new PassThrough({ highWaterMark: READ_CHUNK })
  // the output is outside the pipeline so that a decompression error reaches the reader as a DumpFormatError
  const last = stages[stages.length - 1] as Readable
  pipeline(stages as [Readable, ...Transform[]], (err: NodeJS.ErrnoException | null) => {
    if (err) {
      const msg = compression === 'none' ? `cannot read ${path}: ${err.message}` : `cannot decompress ${path} (${compression}): ${err.message}`
      out.destroy(new DumpFormatError(msg, { cause: err }))
    }
  })
  last.pipe(out)
  out.on('close', () => {
    if (!last.destroyed) last.destroy()
  })
  if (compression === 'none') return { stream: out, compression, fileBytes, fileBytesRead }
  return { stream: out, compression, fileBytes, compressedBytes: fileBytes, fileBytesRead }
}
