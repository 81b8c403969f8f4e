// The host runtime's background warm-cluster save. `start` returns as soon as the app answers, so the
// cache entry a cold start staged is written by a detached Node.js process of its own (saveWarmCluster;
// the container supervisor runs the same function in-process), spawned once the app answers so neither
// its start-up nor its copying slows the app's boot. Its pid is in the run state: `stop` waits for it
// before throwing the in-memory cluster away, so the next start is warm; Ctrl-C cancels it.
import { fileURLToPath } from 'node:url'
import { backgroundRunning, spawnBackground } from './background-process.ts'
import type { PendingWarmSave } from './database.ts'

/** A running background save, as the run state records it. */
export interface WarmSaveProcess {
  pid: number
}

/** Start the save. Its output, one line per outcome, is appended to `logFile`. */
export async function spawnWarmSave(save: PendingWarmSave, logFile: string): Promise<WarmSaveProcess> {
  return { pid: await spawnBackground(MAIN, JSON.stringify(save), logFile) }
}

/** True while the save process runs (a reused pid of another program does not count). */
export function warmSaveRunning(pid: number | undefined): boolean {
  return backgroundRunning(pid, MAIN)
}

/** Wait until the save has finished (true) or timeoutMs passed (false). */
export async function waitForWarmSave(save: WarmSaveProcess | undefined, timeoutMs = 120_000): Promise<boolean> {
  if (!save) return true
  return waitGone(save.pid, timeoutMs)
}

/** Stop the save (it removes its partial entry) and wait until it is gone. */
export async function cancelWarmSave(save: WarmSaveProcess | undefined): Promise<void> {
  if (!save || !warmSaveRunning(save.pid)) return
  try {
    process.kill(save.pid, 'SIGTERM')
  } catch {}
  if (!(await waitGone(save.pid, 10_000))) {
    try {
      process.kill(save.pid, 'SIGKILL')
    } catch {}
    await waitGone(save.pid, 5_000)
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (warmSaveRunning(pid)) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 25))
  }
  return true
}

const MAIN = fileURLToPath(new URL('./warm-save-main.ts', import.meta.url))
