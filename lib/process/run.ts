// Short commands (a probe, `cp -a`, `podman inspect`, initdb) through zx: their output captured, one
// ProcessResult, a failure as a ProcessError. Each runs in its own process group, so a Ctrl-C in the
// terminal reaches only the runner, which then stops the command's whole tree through its AbortSignal.
import { spawn as nodeSpawn, type SpawnOptions as NodeSpawnOptions } from 'node:child_process'
import { $ } from 'zx/core'
import { CancelledError } from '../errors.ts'
import { assertNoSecretInArgs, displayCommand, logCommand, secretsFor } from './display.ts'
import { ProcessError } from './errors.ts'
import { commandExists, shellSafeEnv } from './resolve.ts'
import { stopTree } from './tree.ts'
import type { CommandOptions, ProcessIdentity, ProcessResult } from './types.ts'

export interface RunOptions extends CommandOptions {
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer
  /** Each output line as it arrives (stdout and stderr interleaved; `stream` says which). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  /** Resolve with the result whatever the exit code (a cancel still throws CancelledError). */
  nothrow?: boolean
  /** The fix a failure's ProcessError carries (default: run the command by hand). */
  fix?: string
  /** How much of stdout is kept (its end), default 64 MiB; stderr keeps its last 1 MiB. */
  maxBytes?: number
  /** The command's pid once it is started (bash execs it, so it is the command's own), e.g. to watch /proc. */
  onSpawn?: (pid: number) => void
}

const STDERR_KEEP = 1024 * 1024

/** Run `command args...` to its end. Rejects with ProcessError on failure, CancelledError on abort. */
export async function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<ProcessResult> {
  const secrets = secretsFor(opts.secrets)
  assertNoSecretInArgs(command, args, secrets)
  const display = displayCommand(command, args, secrets)
  if (opts.signal?.aborted) throw new CancelledError(`${display} cancelled`)
  const env = shellSafeEnv(opts.env ?? process.env)
  const started = Date.now()
  if (!commandExists(command, env.PATH, opts.cwd)) {
    return settle(opts, { command: display, exitCode: 127, signal: null, ok: false, stdout: '', stderr: `${command}: not found`, durationMs: 0, spawnError: 'ENOENT', cancelled: false, timedOut: false })
  }
  logCommand(display, opts.cwd)
  // one splitter per stream: a line is never made of one stream's end and the other's start
  const outLines = lineSplitter(opts.onLine && ((l) => opts.onLine!(l, 'stdout')))
  const errLines = lineSplitter(opts.onLine && ((l) => opts.onLine!(l, 'stderr')))
  const store = {
    stdout: new TailBuffer(opts.maxBytes ?? 64 * 1024 * 1024, outLines),
    stderr: new TailBuffer(STDERR_KEEP, errLines),
    stdall: new TailBuffer(0),
  }
  const p = $({
    cwd: opts.cwd,
    env,
    input: opts.input,
    nothrow: true,
    quiet: true,
    verbose: false,
    // its own process group: stopped as a whole, and out of reach of the terminal's Ctrl-C
    detached: true,
    // no `set -euo pipefail;`: `bash -c` then execs the command itself, so its pid is the command's
    prefix: '',
    postfix: '',
    spawn: spawnAs(opts.user),
    store: store as never,
    // --verbose is printed above, redacted; zx's own log would show the command unredacted
    log: () => {},
  })`${command} ${args}`
  if (p.pid) opts.onSpawn?.(p.pid)
  let cancelled = false
  let timedOut = false
  const stop = (): void => {
    if (p.pid) void stopTree(p.pid, opts.graceMs)
  }
  const onAbort = (): void => {
    cancelled = true
    stop()
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true
        stop()
      }, opts.timeoutMs)
    : undefined
  try {
    const out = await p
    outLines(null)
    errLines(null)
    const stderr = out.stderr
    return settle(opts, {
      command: display,
      exitCode: out.exitCode,
      signal: out.signal,
      ok: out.exitCode === 0 && !cancelled && !timedOut,
      stdout: out.stdout,
      stderr,
      durationMs: Date.now() - started,
      spawnError: shellSpawnError(out.exitCode, stderr),
      cancelled,
      timedOut,
    })
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
  }
}

function settle(opts: RunOptions, result: ProcessResult): ProcessResult {
  if (result.cancelled) throw new CancelledError(`${result.command} cancelled`)
  if (!result.ok && !opts.nothrow) throw new ProcessError(result, { fix: opts.fix, secrets: opts.secrets?.filter((s): s is string => !!s) })
  return result
}

/** zx runs `bash -c CMD`; a command bash could not start shows as 127/126 with bash's own message. */
function shellSpawnError(code: number | null, stderr: string): ProcessResult['spawnError'] {
  if (code !== 127 && code !== 126) return undefined
  const line = stderr.trim().split('\n').pop() ?? ''
  if (!/^(?:\/\S*\/)?bash: /.test(line)) return undefined
  if (code === 127) return 'ENOENT'
  return /Permission denied/.test(line) ? 'EACCES' : undefined
}

function spawnAs(user: ProcessIdentity | undefined): typeof nodeSpawn {
  if (!user) return nodeSpawn
  // cwd stays the caller's unless set: a root runner's cwd under /root is for the caller to avoid
  return ((command: string, args: readonly string[] | undefined, options: NodeSpawnOptions) =>
    nodeSpawn(command, args ?? [], { ...options, uid: user.uid, gid: user.gid })) as unknown as typeof nodeSpawn
}

/**
 * zx keeps every chunk of output in its store; this one keeps only the last `limit` bytes (a build's
 * log can be large) and hands lines on as they arrive.
 */
class TailBuffer {
  private chunks: string[] = []
  private size = 0

  constructor(private readonly limit: number, private readonly onText?: (text: string | null) => void) {
    // zx also reads chunks by index (the last one, to end the verbose output with a newline)
    return new Proxy(this, { get: (t, k) => (typeof k === 'string' && /^\d+$/.test(k) ? t.chunks[Number(k)] : Reflect.get(t, k)) })
  }

  get length(): number {
    return this.chunks.length
  }

  push(...items: (string | Buffer)[]): number {
    for (const item of items) {
      const text = typeof item === 'string' ? item : item.toString('utf8')
      this.onText?.(text)
      if (this.limit <= 0) continue
      this.chunks.push(text)
      this.size += text.length
      while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length
    }
    return this.chunks.length
  }

  join(sep = ''): string {
    const text = this.chunks.join(sep)
    return text.length > this.limit ? text.slice(-this.limit) : text
  }

  reduce<U>(fn: (acc: U, cur: string, i: number, arr: string[]) => U, init: U): U {
    return this.chunks.reduce(fn, init)
  }

  [Symbol.iterator](): Iterator<string> {
    return this.chunks[Symbol.iterator]()
  }
}

function lineSplitter(onLine?: (line: string) => void): (chunk: string | null) => void {
  let rest = ''
  return (chunk) => {
    if (!onLine) return
    if (chunk === null) {
      if (rest) onLine(rest)
      rest = ''
      return
    }
    const parts = (rest + chunk).split('\n')
    rest = parts.pop() ?? ''
    for (const p of parts) onLine(p.replace(/\r$/, ''))
  }
}
