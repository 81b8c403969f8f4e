// The leak scan's second pass. pg_dump writes table data in name order, so a text column of `news` has
// passed before the `users` names it may hold were fingerprinted. When the first pass saw words that
// later turned out to start a personal value, the stored temp file is read again (decompressed only) and
// scanned with the complete fingerprints; only if that finds something is it rewritten (masked and
// compressed again). Either way no unmasked finding is committed.
import { createReadStream, createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { Transform, Writable, type Duplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AnonymizeStream, type AnonymizeSettings } from './stream.ts'
import type { LeakFinding, LeakIndex } from './leak-scan.ts'

export interface RescanCodec {
  decompressor: () => Duplex
  compressor: () => Duplex
  /** Counts and hashes what is written (the store's sha256 of the data file). */
  hasher: () => Transform & { bytes: number; digest(): string }
}

export interface RescanResult {
  findings: LeakFinding[]
  /** Set when the file was rewritten: its new sha256 and size. */
  rewritten?: { sha256: string; bytes: number; uncompressedBytes: number }
}

export async function rescanForLeaks(path: string, settings: AnonymizeSettings, index: LeakIndex, codec: RescanCodec, signal?: AbortSignal): Promise<RescanResult> {
  const scanOnly = { ...settings, strict: false }
  const look = new AnonymizeStream(scanOnly, { rescan: index.forRescan() })
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), codec.decompressor(), look, new Writable({ write: (_c, _e, cb) => cb() }), { signal })
  const findings = look.leakIndex()!.result()
  if (findings.length === 0) return { findings }
  const next = path.replace(/\.tmp$/, '-rescan.tmp')
  const mask = new AnonymizeStream(scanOnly, { rescan: index.forRescan() })
  const hasher = codec.hasher()
  let uncompressedBytes = 0
  const plainCount = new Transform({ transform: (c: Buffer, _e, cb) => ((uncompressedBytes += c.length), cb(null, c)) })
  try {
    await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), codec.decompressor(), mask, plainCount, codec.compressor(), hasher, createWriteStream(next, { flags: 'wx', mode: 0o644 }), { signal })
    await rename(next, path)
  } finally {
    await rm(next, { force: true })
  }
  return { findings, rewritten: { sha256: hasher.digest(), bytes: hasher.bytes, uncompressedBytes } }
}
