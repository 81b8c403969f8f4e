// A detached Node.js process of the runner's own (the warm-cluster save, the spare copy for reset):
// work that should not hold up the command that asked for it. It runs the same loader the CLI runs
// under, niced so the app's requests come first, with its output appended to a log file.
import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { setPriority } from 'node:os'
import { dirname } from 'node:path'
import { processAlive as alive } from '../process/index.ts'

/** Start `node --import tsx <main> <arg>` detached; resolves with its pid once it runs. */
export async function spawnBackground(main: string, arg: string, logFile: string): Promise<number> {
  await mkdir(dirname(logFile), { recursive: true })
  const log = openSync(logFile, 'a')
  try {
    // resolved from this module: the cwd may be anywhere
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), main, arg], {
      detached: true,
      stdio: ['ignore', log, log],
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve())
      child.once('error', reject)
    })
    child.unref()
    try {
      setPriority(child.pid!, 10)
    } catch {}
    return child.pid!
  } finally {
    closeSync(log)
  }
}

/** True while `pid` runs `main` (a reused pid of another program does not count). */
export function backgroundRunning(pid: number | undefined, main: string): boolean {
  if (!pid || !alive(pid)) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(main)
  } catch {
    // no /proc (not Linux): trust the pid
    return true
  }
}
