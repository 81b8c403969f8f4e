// The scheduled job's last result, kept in the data home, so that `status`, `snapshots` and
// `schedule status` can say when the data was last refreshed and, when it failed, why.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { schedulePaths } from './paths.ts'

export interface ScheduledRunResult {
  environment: string
  startedAt: string
  finishedAt: string
  ok: boolean
  /** The snapshot written, on success. */
  snapshot?: string
  rows?: number
  /** On failure: what went wrong and the fix, as the CLI would print them. */
  error?: string
  fix?: string
}

export async function recordScheduledRun(dataHome: string, result: ScheduledRunResult): Promise<void> {
  const path = schedulePaths(dataHome).lastRun
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  // Write then rename: a reader never sees half a record, a crash keeps the previous one.
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600 })
  await rename(tmp, path)
}

export async function lastScheduledRun(dataHome: string): Promise<ScheduledRunResult | undefined> {
  try {
    return JSON.parse(await readFile(schedulePaths(dataHome).lastRun, 'utf8')) as ScheduledRunResult
  } catch {
    return undefined
  }
}

/** One line for `status` and `snapshots`: "last run 2026-12-03 02:00: ok, snapshot production (27,150 rows)". */
export function describeLastRun(r: ScheduledRunResult): string {
  const when = r.finishedAt.replace('T', ' ').slice(0, 16)
  if (r.ok) return `last run ${when} UTC: ok, snapshot ${r.snapshot}${r.rows === undefined ? '' : ` (${r.rows.toLocaleString('en-US')} rows)`}`
  return `last run ${when} UTC: FAILED: ${r.error}${r.fix ? ` (fix: ${r.fix})` : ''}`
}
