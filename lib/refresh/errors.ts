// Typed failures of an incremental refresh. Each names what failed and what to do; `seed --full` is
// always a way out, because a full pull needs none of what a refresh relies on.
import { RotvError } from '../errors.ts'

/** A SQL session (remote psql over ssh, local psql, a remote pg_dump) failed or ended early. */
export class RefreshSessionError extends RotvError {
  constructor(where: string, what: string, stderr: string) {
    const tail = stderr.trim().split('\n').slice(-8).join('\n')
    super(`incremental refresh: ${where}: ${what}${tail ? `\n${tail}` : ''}`, {
      fix: 'check that psql and pg_dump run there (the same login a full pull uses), or run `seed --full`',
    })
  }
}

/** The server cannot take part (no exported snapshots, large objects): a full pull is the way. */
export class RefreshNotPossibleError extends RotvError {
  constructor(reason: string) {
    super(`incremental refresh not possible: ${reason}`, { fix: 'run `seed --full` (a full pull needs none of this)' })
  }
}
