// Typed failures of the snapshot store. The fix always names the command that gets a good snapshot back.
import { RotvError } from '../errors.ts'

export const seedCommand = (name: string) => `npx tsx Taskfile.ts seed ${name}`

export class SnapshotNotFoundError extends RotvError {
  /** `existing`: the snapshots there are. A name that is no source (a typo) cannot be pulled: say what is there. */
  constructor(name: string, existing?: readonly string[]) {
    const there = existing === undefined ? '' : existing.length ? `the snapshots there are: ${existing.join(', ')}; ` : 'there are no snapshots yet; '
    super(`no snapshot named "${name}"`, { fix: `${there}to pull it from a source: npx tsx Taskfile.ts seed SOURCE --as ${name}` })
  }
}

export class CorruptSnapshotError extends RotvError {
  constructor(name: string, detail: string) {
    super(`snapshot "${name}" is corrupt on disk: ${detail}`, { fix: `pull it again: ${seedCommand(name)}` })
  }
}

export class TruncatedDumpError extends RotvError {
  constructor(name: string, detail: string, stderr = '') {
    super(`the dump for "${name}" is incomplete: ${detail}${stderr.trim() ? `\n  ${stderr.trim().split('\n').slice(-10).join('\n  ')}` : ''}`, {
      fix: `the previous snapshot was kept; pull again: ${seedCommand(name)}`,
    })
  }
}

export class EmptyDumpError extends RotvError {
  constructor(name: string, detail = 'was empty') {
    super(`the dump for "${name}" ${detail}`, { fix: `check the source; the previous snapshot was kept. Retry: ${seedCommand(name)}` })
  }
}

/** Content after the completion trailer: it would load (or fail) only at start; refused at the pull. */
export class TrailingGarbageError extends RotvError {
  constructor(name: string, line: number, text: string) {
    super(`the dump for "${name}" has content after its "-- PostgreSQL database dump complete" trailer (line ${line}: ${JSON.stringify(text)})`, {
      fix: `the previous snapshot was kept; cut the file at the trailer (or re-export it with pg_dump), then retry: ${seedCommand(name)}`,
    })
  }
}

export class SnapshotBusyError extends RotvError {
  constructor(name: string, holder: string) {
    super(`another pull into snapshot "${name}" is running (${holder})`, { fix: 'wait for it to finish, or stop that process' })
  }
}

export class SnapshotWriteError extends RotvError {
  constructor(name: string, dir: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException)?.code
    super(`writing snapshot "${name}" failed: ${(cause as Error)?.message ?? String(cause)}`, {
      fix: code === 'ENOSPC' ? `free disk space where ${dir} lives; the previous snapshot was kept` : `check ${dir} is writable; the previous snapshot was kept`,
      cause,
    })
  }
}

export class InvalidSnapshotNameError extends RotvError {
  constructor(name: string) {
    super(`"${name}" is not a valid snapshot name`, { fix: 'use lower-case letters, digits, dot, dash or underscore (e.g. production, staging)' })
  }
}
