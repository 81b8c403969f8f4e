// Runs a local process whose stdout is a dump (ssh, or a local pg_dump) and turns its exit into a
// SourceCompletion: exit codes, the tail of stderr, and the typed error when it failed.
import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { classifyFailure, type SourceErrorContext } from './errors.ts'
import type { SourceCompletion } from './types.ts'

export interface ChildDumpOptions {
  /** Label for exitCodes, e.g. "ssh" or "pg_dump". */
  label: string
  command: string
  args: string[]
  env?: NodeJS.ProcessEnv
  signal?: AbortSignal
  viaSsh: boolean
  errorContext: Omit<SourceErrorContext, 'stderr'>
}

export interface ChildDump {
  stdout: Readable
  done: Promise<SourceCompletion>
  pid: number | undefined
}

const STDERR_KEEP = 64 * 1024

export function spawnDump(opts: ChildDumpOptions): ChildDump {
  // stdin is /dev/null so ssh can never wait on a prompt or forward our terminal. Its own process group,
  // so a Ctrl-C in the terminal reaches only us: the pull is then cancelled through the AbortSignal, in
  // order, instead of ssh dying first and the cancel looking like a network failure.
  const child = spawn(opts.command, opts.args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, detached: true })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP)
  })
  const onAbort = () => child.kill('SIGTERM')
  if (opts.signal?.aborted) onAbort()
  else opts.signal?.addEventListener('abort', onAbort, { once: true })

  const done = new Promise<SourceCompletion>((resolve) => {
    let settled = false
    const finish = (code: number | null, sig: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return
      settled = true
      opts.signal?.removeEventListener('abort', onAbort)
      const text = spawnError ? `${stderr}\n${spawnError.message}` : stderr
      const ok = !spawnError && code === 0
      const exitCode = spawnError ? 127 : code
      resolve({
        ok,
        exitCodes: { [opts.label]: exitCode },
        signals: { [opts.label]: sig },
        stderr: text,
        error: ok ? undefined : classifyFailure({ ...opts.errorContext, stderr: text }, { code: exitCode, signal: sig, viaSsh: opts.viaSsh }),
      })
    }
    child.once('error', (err) => finish(null, null, err))
    // 'close' (not 'exit') so stderr is fully read before the completion is built.
    child.once('close', (code, sig) => finish(code, sig))
  })
  return { stdout: child.stdout, done, pid: child.pid }
}
