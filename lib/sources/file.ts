// The `file` source: a dump somebody handed over (.sql, .sql.gz, .sql.br). gzip is recognised by its
// magic bytes; brotli has none, so it is recognised by the .br extension.
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { DumpStream, SnapshotSource, SourceCompletion, SourceSpec, StreamFormat } from './types.ts'
import { RotvError } from '../errors.ts'

export class DumpFileNotFoundError extends RotvError {
  constructor(path: string) {
    super(`dump file not found: ${path}`, { fix: 'check the path (e.g. SEED_FILE), or pull from a server instead' })
  }
}

export function fileSource(spec: SourceSpec): SnapshotSource {
  if (!spec.file) throw new RotvError(`source "${spec.name}" (file) has no file`, { fix: `set ${spec.name === 'production' ? 'SEED_FILE' : `${spec.name.toUpperCase()}_FILE`} to a .sql, .sql.gz or .sql.br dump` })
  const path = resolve(spec.file)
  return {
    spec,
    describe: () => `file ${path}`,
    async open(opts = {}): Promise<DumpStream> {
      const format = await detectFormat(path)
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

async function detectFormat(path: string): Promise<StreamFormat> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DumpFileNotFoundError(path)
    throw err
  }
  try {
    const head = Buffer.alloc(2)
    const { bytesRead } = await handle.read(head, 0, 2, 0)
    if (bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
    return path.endsWith('.br') ? 'brotli' : 'plain'
  } finally {
    await handle.close()
  }
}
