// Bytes a directory occupies (du -sb): how much of the tmpfs a database takes. du of the case's own
// directory, not statfs of /dev/shm, because other processes on a shared machine use /dev/shm too.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export async function diskUsageBytes(dir: string): Promise<number | undefined> {
  try {
    const { stdout } = await run('du', ['-sb', dir], { timeout: 60_000 })
    const n = Number(String(stdout).split(/\s/)[0])
    return Number.isFinite(n) ? n : undefined
  } catch {
    return undefined
  }
}
