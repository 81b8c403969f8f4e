// The leak scan's fingerprints kept beside a snapshot (<sha256>.fingerprints.json), so `snapshots scan`
// can look for a pull's personal values later. Keyed HMACs only: useless without ANONYMIZE_SALT.
import { open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { LeakIndex, type StoredFingerprints } from './leak-scan.ts'
import type { Keyed } from './transforms.ts'

export const FINGERPRINTS_SUFFIX = '.fingerprints.json'

export function fingerprintsFile(dataSha256: string): string {
  return `${dataSha256}${FINGERPRINTS_SUFFIX}`
}

export async function writeFingerprints(dir: string, dataSha256: string, index: LeakIndex, saltFingerprint: string): Promise<string> {
  const name = fingerprintsFile(dataSha256)
  const tmp = join(dir, `.pull-fp-${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(JSON.stringify(index.toStored(saltFingerprint)))
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, join(dir, name))
  } finally {
    await rm(tmp, { force: true })
  }
  return name
}

/** undefined when the snapshot has none (not anonymized, or pulled before the leak scan existed). */
export async function readFingerprints(dir: string, dataSha256: string, k: Keyed): Promise<{ index: LeakIndex; stored: StoredFingerprints } | undefined> {
  let text: string
  try {
    text = await readFile(join(dir, fingerprintsFile(dataSha256)), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const stored = JSON.parse(text) as StoredFingerprints
  return { index: LeakIndex.fromStored(k, stored), stored }
}
