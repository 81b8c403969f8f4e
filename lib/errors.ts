// Every failure a user can meet is a RotvError: what went wrong, and the fix, as separate fields, so the
// CLI edge can print one readable message (and --json can carry both) without parsing strings.

export interface RotvErrorOptions {
  /** What the user should do about it: a command to run, a setting to change. */
  fix?: string
  /** Further lines, one per item (e.g. one per configuration problem), shown under the message. */
  details?: readonly string[]
  cause?: unknown
}

export class RotvError extends Error {
  readonly fix?: string
  readonly details?: readonly string[]

  constructor(message: string, options: RotvErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.fix = options.fix
    this.details = options.details
  }
}

/** True for errors raised because the user (or a signal) asked the work to stop. */
export class CancelledError extends RotvError {
  constructor(message = 'cancelled') {
    super(message)
  }
}

/** One readable message for any error: the message, then the fix when there is one. */
export function describeError(err: unknown): { message: string; fix?: string; details?: readonly string[] } {
  if (err instanceof RotvError) return { message: err.message, fix: err.fix, details: err.details }
  if (err instanceof Error) return { message: err.message }
  return { message: String(err) }
}
