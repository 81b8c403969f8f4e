// The spare copy behind a size-independent `reset` (dev mode), for both runtimes: after a start and
// after each reset a copy of the pristine template is made in the background (makeSpare); reset then
// swaps it in by renames (resetFromSpare) and asks for the next one. Without room for the copy there
// is no spare and reset copies while you wait, as it always could.
import { statfs } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describeError } from '../errors.ts'
import { formatBytes, InsufficientSpaceError, makeSpare, resetFromSpare, serverConnection, spareName, type SpareFacts } from '../postgres/index.ts'
import { spawnBackground } from './background-process.ts'

/** What a spare copy needs to know; JSON, as it crosses into the background process. */
export interface SpareJob {
  port: number
  dbName: string
  pristineDb: string
  /** The cluster's directory: the copy must fit on its filesystem. */
  pgdata: string
  /** The in-memory limit (TMPFS_SIZE) the whole cluster stays within, when there is one. */
  limitBytes?: number
}

export interface SpareOutcome {
  made: boolean
  bytes: number
  ms: number
}

/** Put the pristine data back into the app's database, then have the next spare made in the background. */
export async function resetToPristine(job: SpareJob, logFile: string): Promise<{ via: 'spare' | 'copy'; durationMs: number }> {
  const started = Date.now()
  const via = await resetFromSpare(serverConnection({ port: job.port }), { template: job.pristineDb, target: job.dbName, spare: spareName(job.dbName) })
  const durationMs = Date.now() - started
  await spawnSpareCopy(job, logFile)
  return { via, durationMs }
}

/** Make the spare now (in this process), unless it is there; throws InsufficientSpaceError when it does not fit. */
export async function makeSpareCopy(job: SpareJob): Promise<SpareOutcome> {
  const started = Date.now()
  const r = await makeSpare(serverConnection({ port: job.port }), {
    template: job.pristineDb,
    spare: spareName(job.dbName),
    check: (facts) => assertMayCopy(job, facts),
  })
  return { ...r, ms: Date.now() - started }
}

/** Make the spare in a detached process (spare-main.ts); its one line of outcome goes to logFile. */
export async function spawnSpareCopy(job: SpareJob, logFile: string): Promise<number> {
  return spawnBackground(MAIN, JSON.stringify(job), logFile)
}

/** The log line for an outcome (the benchmark reads "ready in N ms"). */
export function describeSpareOutcome(job: SpareJob, outcome: SpareOutcome | { error: unknown }): string {
  const at = `${new Date().toISOString()} spare copy of ${job.pristineDb}`
  if ('error' in outcome) {
    const e = describeError(outcome.error)
    return `${at}: not made, reset will copy while you wait: ${e.message}${e.fix ? ` (fix: ${e.fix})` : ''}`
  }
  return outcome.made ? `${at}: ready in ${outcome.ms} ms (${formatBytes(outcome.bytes)})` : `${at}: already there`
}

// Room for the app's own writes after the copy: a tenth of the copy, at least 64 MiB.
const headroom = (bytes: number) => Math.max(64 * 1024 ** 2, bytes / 10)

async function assertMayCopy(job: SpareJob, { bytes, clusterBytes, dataDirectory }: SpareFacts): Promise<void> {
  // a process that outlived its server must not copy inside the next one started on the same port
  if (resolve(dataDirectory) !== resolve(job.pgdata)) throw new Error(`the server on port ${job.port} is another cluster now (${dataDirectory})`)
  const need = bytes + headroom(bytes)
  if (job.limitBytes && clusterBytes + need > job.limitBytes) {
    throw new InsufficientSpaceError(
      `a spare copy (${formatBytes(bytes)}) would take the cluster past TMPFS_SIZE=${formatBytes(job.limitBytes)}`,
      need,
      job.limitBytes - clusterBytes,
      `raise TMPFS_SIZE to about ${formatBytes(clusterBytes + need)} for an instant reset`,
    )
  }
  const fs = await statfs(job.pgdata)
  const free = fs.bavail * fs.bsize
  if (need > free) {
    throw new InsufficientSpaceError(
      `a spare copy needs about ${formatBytes(need)}, but ${formatBytes(free)} is free in ${job.pgdata}`,
      need,
      free,
      'free memory in the tmpfs (leftover rotv-* directories from killed runs can go) for an instant reset',
    )
  }
}

const MAIN = fileURLToPath(new URL('./spare-main.ts', import.meta.url))
