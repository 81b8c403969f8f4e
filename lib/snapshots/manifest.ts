// The manifest is the commit point of a snapshot: a data file exists, but the snapshot only becomes (or
// changes to) it when manifest.json is renamed into place.
import { open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { SourceKind } from '../sources/types.ts'
import type { AtRestCompression } from './compression.ts'
import type { AnonymizationRecord } from '../anonymize/stream.ts'

export const MANIFEST_FILE = 'manifest.json'

export interface SnapshotManifest {
  manifestVersion: 1
  name: string
  source: { kind: SourceKind; host: string; database?: string; description: string }
  /** ISO time. The data file's mtime is kept equal to it, and the store reports the mtime when reading,
   * so back-dating the files (`touch -d`) ages the snapshot the way the original seed-data.sql aged. */
  pulledAt: string
  pgDumpVersion: string | null
  serverVersion: string | null
  /** File name inside the snapshot directory: <sha256>.sql.zst (.sql.br: brotli, stored by an earlier version) */
  dataFile: string
  /** sha256 of the stored (compressed) file. */
  sha256: string
  compression: AtRestCompression
  compressedBytes: number
  uncompressedBytes: number
  /** Rows per table, counted from the COPY blocks. */
  tables: Record<string, number>
  totalRows: number
  anonymized: boolean
  /** Generated data (the bundled demo), not anyone's: it may leave the machine as it is. */
  synthetic?: boolean
  /** With anonymized: which rules (sha256) and salt (fingerprint, never the salt), what was rewritten,
   * and the coverage warnings of that pull. Absent on snapshots pulled as they are. */
  anonymization?: AnonymizationRecord
}

export async function readManifest(dir: string): Promise<SnapshotManifest | undefined> {
  let text: string
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  return JSON.parse(text) as SnapshotManifest
}

/** Write temp + fsync + rename + fsync(dir): readers see the old manifest or the new one, never half. */
export async function writeManifestAtomic(dir: string, manifest: SnapshotManifest): Promise<void> {
  const tmp = join(dir, `.manifest-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(`${JSON.stringify(manifest, null, 2)}\n`)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, join(dir, MANIFEST_FILE))
    await fsyncDir(dir)
  } finally {
    await rm(tmp, { force: true })
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
