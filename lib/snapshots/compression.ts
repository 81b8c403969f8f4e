// How snapshots are stored at rest, and how any incoming stream format is decoded.
//
// Measured with node:zlib (the code path used here), 2-core Debian 12, Node 20, two inputs:
// A) 104.9 MB from lib/demo generateDemoDump({ size: 100 MB }) (log lines, URLs, timestamps; the machine
//    was shared with other test runs, load average ~5.7, so all times are inflated):
//   gzip -1 18.68 MB 0.63 s   gzip -6 15.48 MB 1.56 s   gzip -9 14.46 MB  2.69 s
//   br q4   14.70 MB 1.41 s   br q5   13.07 MB 2.19 s   br q6   12.90 MB 3.19 s   br q7 12.81 MB 10.52 s
//   br q9   12.70 MB 38.01 s
// B) 107.1 MB pg_dump of random-word text rows, a worst case for brotli's large window (lighter load):
//   gzip -1 29.00 MB 0.92 s   gzip -6 24.79 MB 3.87 s   gzip -9 24.74 MB 5.14 s
//   br q4   26.13 MB 2.15 s   br q5   25.56 MB 3.12 s   br q6   24.69 MB 4.56 s   br q7 23.51 MB 8.14 s
//   (brotli with lgwin 24 and a size hint; q6 without the hint was 25.29 MB, larger than gzip -6)
//   decompression of B: gunzip 0.31 s, brotli 0.50 s
// Chosen: brotli quality 6, 16 MB window (lgwin 24), size hint. It is the lowest quality that is no
// larger than gzip -6 on both inputs (17% smaller on A, level on B; q5 loses on B), at about gzip -6's
// speed on B (2x gzip -6's time on A). q7 buys 1-5% for 2-3x the time, q9 2-10% for 4-12x.
// Decompression, paid on every import, is ~200 MB/s whichever quality.
import zlib from 'node:zlib'
import type { Transform } from 'node:stream'
import type { StreamFormat } from '../sources/types.ts'

export type AtRestCompression = 'brotli'
export const AT_REST_COMPRESSION: AtRestCompression = 'brotli'
export const AT_REST_EXTENSION = '.sql.br'
export const BROTLI_QUALITY = 6
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
