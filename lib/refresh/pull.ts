// The seam `seed` pulls through: incremental when a previous, unanonymized snapshot of the same source
// is in the store (and --full is not given), a full pull otherwise, and a full pull too when the refresh
// cannot be made (the reason is reported, never hidden). Either way the store commits an ordinary
// snapshot atomically; an interrupted refresh leaves the previous one in place.
import { CancelledError } from '../errors.ts'
import type { PullOptions, SnapshotManifest, SnapshotStore } from '../snapshots/index.ts'
import type { SnapshotSource, SourceSpec } from '../sources/types.ts'
import { snapshotHandle } from '../runtime/from-config.ts'
import { origin, REFRESHABLE_KINDS } from './endpoints.ts'
import { withPreviousCopy, type LocalSettings } from './previous-copy.ts'
import { incrementalSource, type RefreshStats } from './refresh.ts'

export interface SeedPullOptions extends PullOptions {
  as: string
  /** Force a full pull. */
  full?: boolean
  local: LocalSettings
  /** One line for the user: which way the pull goes and why. */
  onDecision?: (line: string) => void
  /** Passing status (the local copy being prepared). */
  onStatus?: (line: string) => void
}

export interface SeedPullResult {
  manifest: SnapshotManifest
  incremental: boolean
  bytesReceived: number
  tablesChanged?: number
  chunksChanged?: number
  /** Why a full pull was made instead, when a refresh was tried or ruled out. */
  fullBecause?: string
}

export async function pullSnapshot(store: SnapshotStore, spec: SourceSpec, full: SnapshotSource | SourceSpec, opts: SeedPullOptions): Promise<SeedPullResult> {
  const say = opts.onDecision ?? (() => {})
  const previousManifest = await store.get(opts.as).catch(() => undefined)
  const reason = whyNotIncremental(previousManifest, spec, opts)
  if (!reason) {
    try {
      const previous = await snapshotHandle(store, opts.as)
      let stats: RefreshStats | undefined
      const manifest = await withPreviousCopy(opts.local, previous, async (local) => {
        say(`refreshing incrementally against snapshot "${opts.as}" of ${previousManifest!.pulledAt} (--full pulls everything)`)
        return store.pull(incrementalSource(spec, { local, onStats: (s) => (stats = s) }), opts)
      }, { signal: opts.signal, onProgress: (m) => opts.onStatus?.(`local copy of the previous snapshot: ${m}`) })
      return { manifest, incremental: true, bytesReceived: stats!.bytesReceived, tablesChanged: stats!.tablesChanged, chunksChanged: stats!.chunksChanged }
    } catch (err) {
      if (err instanceof CancelledError || opts.signal?.aborted) throw err
      const why = `the incremental refresh failed: ${(err as Error).message.split('\n')[0]}`
      say(`${why}; pulling in full`)
      return { ...(await fullPull(store, full, opts)), fullBecause: why }
    }
  }
  if (reason !== 'first pull' && !reason.startsWith('a ')) say(`full pull: ${reason}`)
  return { ...(await fullPull(store, full, opts)), fullBecause: reason }
}

async function fullPull(store: SnapshotStore, source: SnapshotSource | SourceSpec, opts: SeedPullOptions): Promise<SeedPullResult> {
  let bytes = 0
  const manifest = await store.pull(source, {
    ...opts,
    onProgress: (p) => {
      bytes = p.bytes
      opts.onProgress?.(p)
    },
  })
  return { manifest, incremental: false, bytesReceived: bytes }
}

function whyNotIncremental(previous: SnapshotManifest | undefined, spec: SourceSpec, opts: SeedPullOptions): string | undefined {
  if (opts.full) return '--full'
  if (!(REFRESHABLE_KINDS as readonly string[]).includes(spec.kind)) return `a ${spec.kind} source is always pulled in full`
  if (!previous) return 'first pull'
  const here = origin(spec)
  if (previous.source.kind !== spec.kind || previous.source.host !== here.host || (previous.source.database ?? '') !== (here.database ?? '')) {
    return `snapshot "${opts.as}" came from another source (${previous.source.description})`
  }
  // Its rows are rewritten: they cannot be compared with production's.
  if (previous.anonymized) return `snapshot "${opts.as}" is anonymized, so production cannot be compared with it`
  return undefined
}
