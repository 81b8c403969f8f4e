// Content-defined chunking of a plain-SQL dump, so that a second push of a slightly changed snapshot
// uploads only the chunks around the change: a chunk ends at the first newline after a point where a
// rolling (gear) hash of the preceding bytes hits a pattern, so boundaries follow the content, not the
// offset, and an edit early in the dump shifts no boundary after the next one. Sizes: at least MIN,
// at most MAX, about MIN + 2^MASK_BITS on average.
import type { Readable } from 'node:stream'

export const CHUNK_MIN_BYTES = 2 << 20
export const CHUNK_MAX_BYTES = 24 << 20
const MASK_BITS = 22 // +4 MiB on average
const MASK = (1 << MASK_BITS) - 1

const GEAR = (() => {
  // A fixed table (xorshift32 from a constant seed): boundaries must be the same on every machine.
  const t = new Int32Array(256)
  let x = 0x9e3779b9 | 0
  for (let i = 0; i < 256; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    t[i] = x
  }
  return t
})()

/** Yields the input cut into content-defined chunks (each a Buffer), in order. */
export async function* chunkStream(input: Readable): AsyncGenerator<Buffer> {
  let parts: Buffer[] = []
  let size = 0
  let h = 0
  let armed = false
  for await (const data of input as AsyncIterable<Buffer>) {
    let start = 0
    for (let i = 0; i < data.length; i++) {
      const b = data[i]!
      h = ((h << 1) + GEAR[b]!) | 0
      size++
      // a cut at the first newline after the content-defined mark, or at the size limit
      if ((armed && b === 10) || size >= CHUNK_MAX_BYTES) {
        parts.push(data.subarray(start, i + 1))
        yield Buffer.concat(parts)
        parts = []
        start = i + 1
        size = 0
        armed = false
        continue
      }
      if (!armed && size >= CHUNK_MIN_BYTES && (h & MASK) === 0) armed = true
    }
    if (start < data.length) parts.push(Buffer.from(data.subarray(start)))
  }
  if (size > 0 || parts.length) yield Buffer.concat(parts)
}
