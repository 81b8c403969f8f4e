// The app as a background process: detached into its own process group (so stopping it also stops
// anything it spawned), output appended to a log file, secrets passed in its environment (never argv).
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { processAlive as alive } from '../process/index.ts'

export interface StartAppOptions {
  command: string
  args: string[]
  cwd: string
  env: NodeJS.ProcessEnv
  logFile: string
  /** Keep the app attached to this process (its output to the terminal). */
  foreground?: boolean
}

export interface AppProcess {
  pid: number
  /** Resolves with how it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export async function startApp(opts: StartAppOptions): Promise<AppProcess> {
  await mkdir(dirname(opts.logFile), { recursive: true })
  const log = openSync(opts.logFile, 'a')
  try {
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: !opts.foreground,
      stdio: opts.foreground ? ['ignore', 'inherit', 'inherit'] : ['ignore', log, log],
    })
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    )
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve())
      child.once('error', reject)
    })
    if (!opts.foreground) child.unref()
    return { pid: child.pid!, exited }
  } finally {
    closeSync(log)
  }
}

/** SIGTERM the app's process group, wait up to graceMs, then SIGKILL. Resolves when it is gone. */
export async function stopApp(pid: number, graceMs = 10_000): Promise<boolean> {
  if (!alive(pid)) return false
  signalGroup(pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  if (alive(pid)) {
    signalGroup(pid, 'SIGKILL')
    while (alive(pid)) await new Promise((r) => setTimeout(r, 20))
  }
  return true
}


function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    try {
      process.kill(pid, signal)
    } catch {}
  }
}
