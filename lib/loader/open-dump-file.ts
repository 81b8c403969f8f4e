// Opening a dump file: plain SQL, or gzip or zstd (recognised by their magic bytes whatever the name) or
// brotli (.br, which has no magic bytes, so by extension) compressed SQL, decompressed as a stream by the
// snapshot store's decoders (lib/snapshots/compression.ts).
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs'
import { PassThrough, Transform, pipeline, type Readable } from 'node:stream'
import { decoderFor, formatOfBytes } from '../snapshots/compression.ts'
import { DumpFormatError, TruncatedDumpError } from './errors.ts'

export interface DumpFile {
  /** Plain SQL, decompressed. */
  stream: Readable
  compression: 'none' | 'gzip' | 'brotli' | 'zstd'
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
    throw new DumpFormatError(`${path} is a custom-format pg_dump archive (pg_dump -Fc), not a plain-SQL dump`, {
      fix: `convert it with pg_restore --clean --if-exists --no-owner --no-acl -f dump.sql ${path} (seed --from-file does that itself when a pg_restore is installed)`,
    })
  }
  const format = formatOfBytes(head, path)
  const compression = format === 'plain' ? 'none' : format
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
  const decoder = decoderFor(format)
  if (decoder) stages.push(decoder)
  const out = new PassThrough({ highWaterMark: READ_CHUNK })
  // Turn a read or decompression error into a typed error on the output stream. These listeners run
  // before pipeline()'s own (registered later), so the reader sees the typed error; and the output
  // keeps a listener so an error before anyone reads cannot crash the process.
  const wrap = (err: NodeJS.ErrnoException) => {
    if (out.destroyed) return
    const msg = compression === 'none' ? `cannot read ${path}: ${err.message}` : `cannot decompress ${path} (${compression}): ${err.message}`
    // zlib says "unexpected end of file" for a compressed stream cut short (an interrupted download)
    const truncated = compression !== 'none' && (err.code === 'Z_BUF_ERROR' || /unexpected end|truncated|premature/i.test(err.message))
    out.destroy(truncated ? new TruncatedDumpError(msg, { cause: err }) : new DumpFormatError(msg, { cause: err }))
  }
  for (const stage of stages) stage.on('error', wrap)
  out.on('error', () => {})
  pipeline([...stages, out], () => {})
  if (compression === 'none') return { stream: out, compression, fileBytes, fileBytesRead }
  return { stream: out, compression, fileBytes, compressedBytes: fileBytes, fileBytesRead }
}
