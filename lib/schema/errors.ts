// Errors validate-schema raises for the user.
import { RotvError } from '../errors.ts'
import type { SchemaValidation } from './validate.ts'

/**
 * Production's schema drifted from the migrations. `data` carries the whole validation (the same
 * object a successful run returns as its task data), for callers that want more than the text.
 */
export class SchemaDriftError extends RotvError {
  constructor(
    message: string,
    readonly data: SchemaValidation,
    details: readonly string[],
  ) {
    super(message, {
      details,
      fix: 'write a migration that makes production\'s change (or reverts it) so both sides agree, or undo the hand-made change on production; `validate-schema --warn-only` reports without failing',
    })
  }
}
