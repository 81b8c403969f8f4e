// The original setup kept one dump at <home>/seed-data.sql. Rather than ignore it, adopt it as a snapshot
// (verified like any pull, keeping its mtime as its age) and rename it out of the way so it is adopted
// once; the original bytes stay on disk until the user deletes them.
import { rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileSource } from '../sources/file.ts'
import { describeError } from '../errors.ts'
import type { SnapshotManifest } from './manifest.ts'
import type { SnapshotStore } from './store.ts'
import type { Notice } from './notices.ts'

export const LEGACY_SEED_FILE = 'seed-data.sql'
export const ADOPTED_SUFFIX = '.adopted'

export interface AdoptResult {
  manifest?: SnapshotManifest
  notices: Notice[]
}

/** Adopts <home>/seed-data.sql as snapshot `as` when that snapshot does not exist yet. */
export async function adoptLegacySeed(store: SnapshotStore, as: string, signal?: AbortSignal): Promise<AdoptResult> {
  const legacy = join(store.home, LEGACY_SEED_FILE)
  const st = await stat(legacy).catch(() => undefined)
  if (!st?.isFile() || (await store.get(as))) return { notices: [] }
  try {
    const manifest = await store.pull(fileSource({ name: as, kind: 'file', file: legacy }), { as, pulledAt: st.mtime, signal })
    await rename(legacy, legacy + ADOPTED_SUFFIX)
    return {
      manifest,
      notices: [{
        level: 'info',
        message: `adopted the old ${legacy} as snapshot "${as}" (${manifest.totalRows} rows); the original now sits at ${legacy}${ADOPTED_SUFFIX} and can be deleted`,
      }],
    }
  } catch (err) {
    return {
      notices: [{ level: 'warn', message: `the old ${legacy} could not be adopted and was left alone: ${describeError(err).message}` }],
    }
  }
}
