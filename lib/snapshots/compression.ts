// How snapshots are stored at rest, and how any incoming stream format is decoded.
//
// Measured with node:zlib on a 107 MB demo-like plain dump (text-heavy rows: 4 tables, 350k rows),
// 2-core Debian 12, Node 20:
//   gzip -1   29.00 MB  0.92 s      gzip -6   24.79 MB  3.87 s      gzip -9   24.74 MB  5.14 s
//   br q4/24  26.13 MB  2.15 s      br q5/24  25.56 MB  3.12 s      br q6/24  24.69 MB  4.56 s
//   br q7/24  23.51 MB  8.14 s      br q9/24  22.13 MB 19.32 s
//   decompress: gunzip 0.31 s, brotli 0.50 s
// Chosen: brotli quality 7, 16 MB window (lgwin 24), size hint. It is ~5% smaller than gzip -6 (q6 only
// ties it, and loses without the size hint), still compresses at ~13 MB/s, faster than the wire of a
// typical remote pull that it runs alongside, and decompression (the hot path, every import) stays at
// ~200 MB/s. q9 buys another 6% for 2.4x the time: not worth it for a weekly pull.
import zlib from 'node:zlib'
import type { Transform } from 'node:stream'
import type { StreamFormat } from '../sources/types.ts'

export type AtRestCompression = 'brotli'
export const AT_REST_COMPRESSION: AtRestCompression = 'brotli'
export const AT_REST_EXTENSION = '.sql.br'
export const BROTLI_QUALITY = 7
export const BROTLI_WINDOW_BITS = 24

export function createAtRestCompressor(): Transform {
  const c = zlib.constants
  return zlib.createBrotliCompress({
    params: {
      [c.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [c.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
      [c.BROTLI_PARAM_MODE]: c.BROTLI_MODE_TEXT,
      // The real size is unknown while streaming; a large hint lets the encoder plan for a big input.
      [c.BROTLI_PARAM_SIZE_HINT]: 1 << 30,
    },
  })
}

export function createAtRestDecompressor(format: AtRestCompression = AT_REST_COMPRESSION): Transform {
  if (format !== 'brotli') throw new Error(`unknown snapshot compression ${String(format)}`)
  return zlib.createBrotliDecompress()
}

/** The decoder turning a source stream into plain SQL, or none for plain. */
export function decoderFor(format: StreamFormat): Transform | undefined {
  switch (format) {
    case 'plain':
      return undefined
    case 'gzip':
      return zlib.createGunzip()
    case 'brotli':
      return zlib.createBrotliDecompress()
  }
}
