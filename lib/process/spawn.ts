// Long-lived children whose output is a stream (pg_dump -> loader), a log file or the terminal (the
// app, pg_ctl, `logs --follow`): zx would buffer all of a stream's output, so these use node's spawn
// directly, with the same display, redaction, secret check, result shape and tree stop as `run`.
import { spawn as nodeSpawn, type ChildProcess, type StdioOptions } from 'node:child_process'
import type { Readable } from 'node:stream'
import { assertNoSecretInArgs, displayCommand, logCommand, secretsFor } from './display.ts'
import { shellSafeEnv } from './resolve.ts'
import { stopTree } from './tree.ts'
import type { CommandOptions, ProcessResult } from './types.ts'

export interface SpawnOptions extends CommandOptions {
  /** Default: stdin ignored, stdout and stderr piped. File descriptors and 'inherit' work as in node. */
  stdio?: StdioOptions
  /**
   * Its own process group (default true): stopped as a whole, and a Ctrl-C in the terminal reaches only
   * the runner, which stops it through the AbortSignal in order. false: it shares the terminal's group.
   */
  detached?: boolean
  /** How much of a piped stderr the result keeps (its end), default 64 KiB. */
  keepStderrBytes?: number
}

export interface ManagedProcess {
  pid: number | undefined
  child: ChildProcess
  stdout: Readable | null
  stderr: Readable | null
  /** The command as shown (redacted). */
  command: string
  /** Resolves once it runs; rejects when it could not be started (not found, not executable). */
  started: Promise<void>
  /** Resolves when it has ended and its piped output is read; never rejects. */
  done: Promise<ProcessResult>
  /** Stop it and its whole tree: SIGTERM, SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>
}

export function spawnProcess(command: string, args: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  const secrets = secretsFor(opts.secrets)
  assertNoSecretInArgs(command, args, secrets)
  const display = displayCommand(command, args, secrets)
  logCommand(display, opts.cwd)
  const started = Date.now()
  const child = nodeSpawn(command, args, {
    cwd: opts.cwd,
    env: shellSafeEnv(opts.env ?? process.env),
    stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? true,
    ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
  })
  const keep = opts.keepStderrBytes ?? 64 * 1024
  let stderr = ''
  let cancelled = false
  let timedOut = false
  // Only when nobody else reads it: a caller that wants stderr itself takes child.stderr.
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (s: string) => {
    stderr = (stderr + s).slice(-keep)
  })
  const stop = (graceMs = opts.graceMs): Promise<void> => (child.pid && child.exitCode === null && child.signalCode === null ? stopTree(child.pid, graceMs) : Promise.resolve())
  const onAbort = (): void => {
    cancelled = true
    void stop()
  }
  if (opts.signal?.aborted) onAbort()
  else opts.signal?.addEventListener('abort', onAbort, { once: true })
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true
        void stop()
      }, opts.timeoutMs)
    : undefined
  timer?.unref()

  const startedPromise = new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve())
    child.once('error', reject)
  })
  startedPromise.catch(() => {})
  const done = new Promise<ProcessResult>((resolve) => {
    let settled = false
    const finish = (code: number | null, signal: NodeJS.Signals | null, error?: NodeJS.ErrnoException): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
      const spawnError = error?.code === 'ENOENT' || error?.code === 'EACCES' ? error.code : undefined
      resolve({
        command: display,
        exitCode: error ? (spawnError === 'EACCES' ? 126 : 127) : code,
        signal,
        ok: !error && code === 0 && !cancelled && !timedOut,
        stdout: '',
        stderr: error ? `${stderr}${stderr ? '\n' : ''}${error.message}` : stderr,
        durationMs: Date.now() - started,
        spawnError,
        cancelled,
        timedOut,
      })
    }
    child.once('error', (err) => finish(null, null, err))
    // 'close' (not 'exit') so piped output is fully read before the result is built.
    child.once('close', (code, signal) => finish(code, signal))
  })
  return { pid: child.pid, child, stdout: child.stdout, stderr: child.stderr, command: display, started: startedPromise, done, stop }
}
