// One pull per snapshot name at a time: an O_EXCL lock file holding the owner's pid and host. A lock whose
// process is gone (crash, kill -9) is stale and taken over.
import { open, readFile, rm, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { processAlive } from '../process/index.ts'
import { SnapshotBusyError } from './errors.ts'

export const LOCK_FILE = '.pull.lock'

interface LockOwner {
  pid: number
  host: string
  startedAt: string
}

export interface PullLock {
  release(): Promise<void>
}

export async function acquirePullLock(dir: string, name: string): Promise<PullLock> {
  const path = join(dir, LOCK_FILE)
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600)
      try {
        await fh.writeFile(JSON.stringify(me))
      } finally {
        await fh.close()
      }
      return { release: () => rm(path, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const owner = await readOwner(path)
    if (owner && !isStale(owner)) throw new SnapshotBusyError(name, `pid ${owner.pid} on ${owner.host} since ${owner.startedAt}`)
    // Unreadable: either its owner is still writing it (young) or died mid-write (old).
    if (!owner && (await ageMs(path)) < 10_000) throw new SnapshotBusyError(name, 'lock being taken right now')
    // Stale: take it over.
    await rm(path, { force: true })
  }
  throw new SnapshotBusyError(name, 'lock kept changing hands')
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockOwner
  } catch {
    return undefined
  }
}

function isStale(owner: LockOwner): boolean {
  // Another machine's pid cannot be checked (shared home): trust its lock for a day.
  if (owner.host !== hostname()) return Date.now() - Date.parse(owner.startedAt) > 24 * 3600_000
  if (owner.pid === process.pid) return false
  return !processAlive(owner.pid)
}

async function ageMs(path: string): Promise<number> {
  try {
    return Date.now() - (await stat(path)).mtimeMs
  } catch {
    return Infinity
  }
}
