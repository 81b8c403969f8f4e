// How old a snapshot is. The age comes from `pulledAt`, which the store reports from the data file's
// mtime, so `touch -d "10 days ago"` on the snapshot files ages it, as it aged the original seed-data.sql.
import type { SnapshotManifest } from './manifest.ts'

const DAY_MS = 24 * 3600_000

export interface SnapshotAge {
  ms: number
  days: number
  /** "3 hours", "10 days" */
  text: string
}

export function ageOf(manifest: Pick<SnapshotManifest, 'pulledAt'>, now: Date = new Date()): SnapshotAge {
  const ms = Math.max(0, now.getTime() - Date.parse(manifest.pulledAt))
  return { ms, days: ms / DAY_MS, text: humanAge(ms) }
}

export function isStale(manifest: Pick<SnapshotManifest, 'pulledAt'>, maxAgeDays: number, now: Date = new Date()): boolean {
  return ageOf(manifest, now).ms > maxAgeDays * DAY_MS
}

function humanAge(ms: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`
  if (ms < 60_000) return 'less than a minute'
  if (ms < 3600_000) return plural(Math.floor(ms / 60_000), 'minute')
  if (ms < DAY_MS) return plural(Math.floor(ms / 3600_000), 'hour')
  return plural(Math.floor(ms / DAY_MS), 'day')
}
