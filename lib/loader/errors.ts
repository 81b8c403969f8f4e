// Errors the dump loader raises. Every one says where in the dump it happened (line, byte offset) so a
// user can `sed -n LINEp dump.sql` the culprit, and what to do about it.
import { CancelledError, RotvError } from '../errors.ts'

/** Where in the dump input something is: 1-based line, 0-based byte offset of the decompressed SQL. */
export interface DumpPosition {
  line: number
  offset: number
}

export interface DumpLoadErrorDetails {
  /** The statement (first ~300 characters) that failed, when one did. */
  statement?: string
  position?: DumpPosition
  /** The PostgreSQL server's own message, detail, hint, SQLSTATE and context, when the server refused. */
  serverMessage?: string
  detail?: string
  hint?: string
  code?: string
  where?: string
  fix?: string
  cause?: unknown
}

/** The dump could not be loaded. The target database is left in an undefined, half-imported state. */
export class DumpLoadError extends RotvError {
  readonly statement?: string
  readonly position?: DumpPosition
  readonly serverMessage?: string
  readonly detail?: string
  readonly hint?: string
  readonly code?: string
  readonly where?: string

  constructor(summary: string, details: DumpLoadErrorDetails = {}) {
    super(composeMessage(summary, details), {
      fix: details.fix ?? 'check the dump at the position shown; drop the half-imported database and load again',
      cause: details.cause,
    })
    this.statement = details.statement
    this.position = details.position
    this.serverMessage = details.serverMessage
    this.detail = details.detail
    this.hint = details.hint
    this.code = details.code
    this.where = details.where
  }
}

/** The dump ends early: no completion trailer, or EOF inside a statement or COPY block. */
export class TruncatedDumpError extends DumpLoadError {
  constructor(summary: string, details: DumpLoadErrorDetails = {}) {
    super(summary, {
      fix: 'the dump file is incomplete (interrupted download or pg_dump): fetch or create the snapshot again',
      ...details,
    })
  }
}

/** The input is not a plain-SQL dump, or is garbled beyond what the lexer can split. */
export class DumpFormatError extends DumpLoadError {
  constructor(summary: string, details: DumpLoadErrorDetails = {}) {
    super(summary, {
      fix: 'pass a plain-SQL dump (pg_dump -Fp), optionally .gz/.br compressed and opened with openDumpFile(); custom/tar format dumps need pg_restore',
      ...details,
    })
  }
}

/** A psql backslash command the loader does not implement (only \connect, \restrict, \unrestrict are). */
export class UnknownMetaCommandError extends DumpLoadError {
  readonly command: string

  constructor(command: string, details: DumpLoadErrorDetails = {}) {
    super(`unsupported psql meta-command ${command}`, {
      fix: 'this loader runs without psql and understands only the meta-commands pg_dump writes (\\connect, \\restrict, \\unrestrict); remove the line or load the dump with psql',
      ...details,
    })
    this.command = command
  }
}

/** A `\connect` to another database: psql would load the rest there; the loader loads one database. */
export class ConnectMetaCommandError extends DumpLoadError {
  constructor(command: string, args: string, target: string | undefined, current: string, position: DumpPosition) {
    super(`the dump switches to database "${target ?? ''}" (${command} ${args}), and the loader loads into one database ("${current}")`, {
      position,
      statement: `${command} ${args}`,
      fix: 'dump the one database without --create (the tool\'s pulls use pg_dump --clean --if-exists --no-owner --no-acl), not with pg_dumpall; or load this file with psql -f',
    })
  }
}

/** The server cannot make an object the dump holds (a build option or a C library it lacks). */
export class UnsupportedObjectError extends DumpLoadError {
  readonly object: string
  readonly missing: string

  constructor(object: string, missing: string, fix: string, details: DumpLoadErrorDetails = {}) {
    super(`this server cannot make ${object}: it needs ${missing}`, { ...details, fix })
    this.object = object
    this.missing = missing
  }
}

/** CREATE EXTENSION failed because the server's PostgreSQL build does not ship the extension. */
export class MissingExtensionError extends DumpLoadError {
  readonly extension: string

  constructor(extension: string, details: DumpLoadErrorDetails = {}) {
    super(`the dump needs the PostgreSQL extension "${extension}", which this server does not have`, {
      fix: /^postgis/i.test(extension)
        ? `PostGIS is not in the bundled PostgreSQL: use RUNTIME=container (its image has PostGIS), or set PG_BIN_DIR to a system PostgreSQL with it (apt-get install postgresql-17-postgis-3)`
        : `use a PostgreSQL build that has "${extension}" (set PG_BIN_DIR to a system PostgreSQL with the extension installed)`,
      ...details,
    })
    this.extension = extension
  }
}

/** The load was cancelled through its AbortSignal; its connections were terminated. */
export class DumpLoadCancelledError extends CancelledError {
  constructor(message = 'dump load cancelled') {
    super(message)
  }
}

function composeMessage(summary: string, d: DumpLoadErrorDetails): string {
  const parts = [summary]
  if (d.position) parts.push(`at line ${d.position.line} (byte offset ${d.position.offset})`)
  let msg = parts.join(' ')
  if (d.serverMessage) msg += `: ${d.serverMessage}`
  if (d.detail) msg += `\n  DETAIL: ${d.detail}`
  if (d.hint) msg += `\n  HINT: ${d.hint}`
  if (d.where) msg += `\n  CONTEXT: ${d.where}`
  if (d.statement) msg += `\n  STATEMENT: ${d.statement}`
  return msg
}

/** First characters of a statement, on one line, for error messages. */
export function excerpt(sql: string, max = 300): string {
  const flat = sql.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max)}...` : flat
}
