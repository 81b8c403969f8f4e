// Checks shared by the snapshot tests: "the previous snapshot is byte-for-byte intact" and "this rejects".
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** sha256 of every file in a directory, by name: equal fingerprints mean nothing changed. */
export async function dirFingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const f of (await readdir(dir)).sort()) out[f] = createHash('sha256').update(await readFile(join(dir, f))).digest('hex')
  return out
}

/** The error a promise rejects with; throws when it resolves. */
export async function caught(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}
