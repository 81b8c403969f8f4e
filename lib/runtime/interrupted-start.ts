// What a start is about to make, recorded before it makes it: a runner killed (kill -9, OOM, a closed
// laptop lid) between creating the in-memory data directory and writing the run state would otherwise
// leave a postmaster holding the port and hundreds of MB in /dev/shm that `status` and `stop` cannot see.
// The next start, stop or status finds the record of a runner that is gone and cleans up after it:
// only what that record names, in this data home, never another's.
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { resolveBinaries, serverStatus, stopServer } from '../postgres/index.ts'
import { processAlive as alive } from '../process/index.ts'
import { discardDevData } from './database.ts'
import { readRunFile, writeRunFile } from './state.ts'

export interface StartRecord {
  /** The runner process doing the start. */
  runnerPid: number
  startedAt: string
  pgdata: string
  /** Dev mode: the in-memory directory holding pgdata. */
  scratchDir?: string
  pgPort: number
  pgBinDir: string
  runAs?: string
}

export interface InterruptedStart {
  record: StartRecord
  /** Whether its PostgreSQL was still running when found. */
  serverRunning: boolean
}

export async function recordStart(home: string, record: StartRecord): Promise<void> {
  await writeRunFile(recordPath(home), record)
}

/** The start completed (its run state now covers everything) or was cleaned up by its own runner. */
export async function clearStartRecord(home: string): Promise<void> {
  await rm(recordPath(home), { force: true })
}

/** A start whose runner is gone and which left its record behind, or undefined. */
export async function findInterruptedStart(home: string): Promise<InterruptedStart | undefined> {
  const record = await readRunFile<StartRecord>(recordPath(home))
  // its runner still at work (a start in progress in another terminal), or this very process
  if (!record || record.runnerPid === process.pid || alive(record.runnerPid)) return undefined
  const serverRunning = existsSync(record.pgdata) && (await serverStatus(record.pgdata)).running
  return { record, serverRunning }
}

/** Stops what an interrupted start left running and removes its in-memory data; says what it did. */
export async function cleanUpInterruptedStart(home: string): Promise<(InterruptedStart & { message: string }) | undefined> {
  const found = await findInterruptedStart(home)
  if (!found) return undefined
  const { record, serverRunning } = found
  if (serverRunning) {
    const binaries = await resolveBinaries({ binDir: record.pgBinDir, runAs: record.runAs })
    await stopServer({ pgdata: record.pgdata, binaries, runAs: record.runAs, mode: 'immediate' })
  }
  if (record.scratchDir) await discardDevData(record.scratchDir)
  await clearStartRecord(home)
  const message = `cleaned up after a start that was interrupted (runner pid ${record.runnerPid}, ${record.startedAt})${serverRunning ? `: stopped its PostgreSQL on port ${record.pgPort}` : ''}${record.scratchDir ? `, removed ${record.scratchDir}` : ''}`
  return { ...found, message }
}

function recordPath(home: string): string {
  return join(home, 'run', 'starting.json')
}
