// Errors validate-schema raises for the user.
import { RotvError } from '../errors.ts'
import type { SchemaValidation } from './validate.ts'

/** Production's schema drifted from the migrations. Carries the whole validation for callers. */
export class SchemaDriftError extends RotvError {
  constructor(
    message: string,
    readonly validation: SchemaValidation,
    details: readonly string[],
  ) {
    super(message, {
      details,
      fix: 'write a migration that makes production\'s change (or reverts it) so both sides agree, or undo the hand-made change on production; `validate-schema --warn-only` reports without failing',
    })
  }
}
