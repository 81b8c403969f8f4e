// At-rest compression: zstd through the system binary (multithreaded) and node:zlib (Node 22.15+, 24)
// read each other's output; the one decoder serves every format; a dead or aborted zstd child fails the
// stream with a typed error and is never left running.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { readFileSync } from 'node:fs'
import zlib from 'node:zlib'
import { treeOf } from '../lib/process/index.ts'
import {
  createAtRestCompressor,
  decodeBuffer,
  decoderFor,
  formatOfBytes,
  nodeHasZstd,
  ZstdProcessError,
  ZstdUnavailableError,
} from '../lib/snapshots/compression.ts'

// Compressible text with incompressible runs, a few MB: several zstd blocks and multithreaded jobs.
const plain = Buffer.concat(Array.from({ length: 400 }, (_, i) => Buffer.concat([Buffer.from(`${i}\tline of a COPY block, valley ${i % 17}\n`.repeat(200)), randomBytes(2048)])))

function zstdChildren(): number {
  const comm = (pid: number): string => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() } catch { return '' } }
  return treeOf(process.pid).filter((m) => comm(m.pid) === 'zstd').length
}

async function through(stream: NodeJS.ReadWriteStream | undefined, input: Buffer): Promise<Buffer> {
  const parts: Buffer[] = []
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) })
  const chunks = Array.from({ length: Math.ceil(input.length / 65536) }, (_, i) => input.subarray(i * 65536, (i + 1) * 65536))
  await pipeline(Readable.from(chunks), stream!, sink)
  return Buffer.concat(parts)
}

t.test('zstd at rest: smaller than gzip -6, a zstd frame, and the same SQL back from every decoder', async (t) => {
  const stored = await through(createAtRestCompressor(), plain)
  const gzip6 = zlib.gzipSync(plain, { level: 6 })
  t.equal(formatOfBytes(stored), 'zstd')
  t.ok(stored.length <= gzip6.length, `zstd ${stored.length} B, gzip -6 ${gzip6.length} B`)
  t.ok((await through(decoderFor('zstd', { engine: 'binary' }), stored)).equals(plain), 'zstd -d decodes it')
  t.ok((await decodeBuffer('zstd', stored)).equals(plain), 'the default decoder decodes it')
  if (nodeHasZstd()) {
    // Node 22.15+ and 24: node:zlib's encoder and decoder interoperate with the binary's.
    t.ok((await through(decoderFor('zstd', { engine: 'zlib' }), stored)).equals(plain), 'node:zlib decodes the binary\'s frames')
    const fromZlib = await through(createAtRestCompressor({ engine: 'zlib' }), plain)
    t.ok(fromZlib.length <= gzip6.length, `node:zlib zstd ${fromZlib.length} B`)
    t.ok((await through(decoderFor('zstd', { engine: 'binary' }), fromZlib)).equals(plain), 'zstd -d decodes node:zlib\'s frames')
  } else {
    // Node 20: no zstd in node:zlib; asking for it says what to install.
    const err = t.throws(() => createAtRestCompressor({ engine: 'zlib' })) as ZstdUnavailableError
    t.ok(err instanceof ZstdUnavailableError)
    t.match(err.fix, /apt-get install zstd|Node\.js 22\.15/)
  }
  t.equal(decoderFor('plain'), undefined)
  t.ok((await decodeBuffer('gzip', gzip6)).equals(plain))
  t.ok((await decodeBuffer('brotli', zlib.brotliCompressSync(plain))).equals(plain))
  t.equal(formatOfBytes(gzip6), 'gzip')
  t.equal(formatOfBytes(Buffer.from('x'), 'dump.sql.br'), 'brotli')
  t.equal(formatOfBytes(Buffer.from('--')), 'plain')
})

t.test('a damaged frame fails with a typed error; an aborted stream leaves no zstd process', async (t) => {
  const stored = await through(createAtRestCompressor(), plain)
  const cut = stored.subarray(0, Math.floor(stored.length / 2))
  const err = await through(decoderFor('zstd', { engine: 'binary' }), cut).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof ZstdProcessError, `cut-off frame: ${(err as Error)?.message}`)
  t.match((err as ZstdProcessError).fix, /pull the snapshot again/)

  const encoder = createAtRestCompressor({ engine: 'binary' })
  encoder.write(plain.subarray(0, 1 << 20))
  await new Promise((r) => setTimeout(r, 100))
  const before = zstdChildren()
  t.ok(before >= 1, 'zstd runs while the stream is open')
  encoder.destroy()
  await new Promise((r) => encoder.once('close', r))
  t.equal(zstdChildren(), 0, 'no zstd left after destroy')
})
