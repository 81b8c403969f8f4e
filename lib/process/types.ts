// The one result shape of every child process the runner starts, and the options every call shares.

/** How a child process ended. `stdout`/`stderr` are what was kept (see CommandOptions.maxBytes). */
export interface ProcessResult {
  /** The command line as shown to a person (shell-quoted, secret values replaced by ***). */
  command: string
  /** null when the process was ended by a signal, or never started. */
  exitCode: number | null
  signal: NodeJS.Signals | null
  /** true for exit code 0. */
  ok: boolean
  stdout: string
  stderr: string
  durationMs: number
  /** Set when the command could not be started at all: not found, or not executable. */
  spawnError?: 'ENOENT' | 'EACCES'
  /** The run was stopped by its AbortSignal. */
  cancelled: boolean
  /** The run was stopped because it took longer than timeoutMs. */
  timedOut: boolean
}

/** The user a command runs as (a root runner hands PostgreSQL to an unprivileged user). */
export interface ProcessIdentity {
  uid: number
  gid: number
}

export interface CommandOptions {
  cwd?: string
  /** The whole environment of the command (default: this process's). Secrets go here, never in args. */
  env?: NodeJS.ProcessEnv
  /**
   * Values that must never be shown or put on a command line (passwords, salts). They are replaced by
   * *** in --verbose output and in messages; one found in args is refused before anything starts.
   */
  secrets?: readonly (string | undefined)[]
  /** Stops the command and everything it started (its process group and descendants). */
  signal?: AbortSignal
  /** Stopped the same way after this long; the result says timedOut. */
  timeoutMs?: number
  /** SIGTERM first, SIGKILL after this long (default 5 s). */
  graceMs?: number
  user?: ProcessIdentity
}
