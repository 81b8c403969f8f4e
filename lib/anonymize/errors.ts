// Typed failures of anonymization: each names what to change (the rules file, the salt, the mode).
import { RotvError } from '../errors.ts'

export const RULES_FILE = 'anonymize.config.ts'

export class InvalidAnonymizeRulesError extends RotvError {
  constructor(origin: string, why: string) {
    super(`the anonymization rules in ${origin} are invalid: ${why}`, { fix: `correct ${origin} (see the shipped ${RULES_FILE})` })
  }
}

export class AnonymizeRulesNotFoundError extends RotvError {
  constructor(path: string, cause?: unknown) {
    super(`cannot load the anonymization rules from ${path}${cause ? `: ${(cause as Error).message ?? String(cause)}` : ''}`, {
      fix: `create ${RULES_FILE} in the project root (export default defineAnonymizeRules({ ... })), or turn anonymization off (ANONYMIZE=false)`,
      cause,
    })
  }
}

export class MissingAnonymizeSaltError extends RotvError {
  constructor(minLength: number) {
    super(`anonymization needs a per-project salt of at least ${minLength} characters (ANONYMIZE_SALT)`, {
      fix: 'put one in .env, never in the repository: echo "ANONYMIZE_SALT=$(openssl rand -hex 32)" >> .env (share it only with whoever must reproduce the same fake values)',
    })
  }
}

/** Strict mode: a rule names what the dump lacks, or a personal-looking column has no rule. */
export class AnonymizeCoverageError extends RotvError {
  constructor(problems: readonly string[]) {
    super(`anonymization rules do not cover the dump (strict mode): ${problems.length} problem${problems.length === 1 ? '' : 's'}`, {
      details: problems,
      fix: `add a rule for each column in ${RULES_FILE} ('keep' for a column that is not personal), remove rules for what no longer exists, or drop strict mode (ANONYMIZE_STRICT=false)`,
    })
  }
}

export class AnonymizeCollisionError extends RotvError {
  constructor(table: string, column: string) {
    super(`two rows of ${table}.${column}, marked unique in the rules, came out with the same value`, {
      fix: `use a collision-proof transform for ${table}.${column} ('hash' or 'hash-email'); if the originals repeat, the column is not UNIQUE: drop { unique: true } from its rule`,
    })
  }
}

/** The dump carries a ruled table's data in a form the stream cannot rewrite (INSERT statements). */
export class AnonymizeUnsupportedDumpError extends RotvError {
  constructor(detail: string) {
    super(`the dump cannot be anonymized in flight: ${detail}`, {
      fix: 'dump with COPY (pg_dump without --inserts / --column-inserts), as every built-in source does',
    })
  }
}

export class AnonymizeDumpFormatError extends RotvError {
  constructor(detail: string) {
    super(`the dump cannot be read for anonymization: ${detail}`, { fix: 'check that the source produces a plain pg_dump (COPY ... FROM stdin blocks)' })
  }
}

export interface EgressContext {
  /** The force flag of the command, e.g. --force. */
  flag: string
  /** export, push */
  action: string
}

export class SnapshotNotAnonymizedError extends RotvError {
  constructor(name: string, ctx: EgressContext = { flag: '--force', action: 'export' }) {
    super(`snapshot "${name}" is not anonymized: it holds production's personal data, so it may not leave this machine (${ctx.action} refused)`, {
      fix: `pull it anonymized (npx tsx Taskfile.ts seed --anonymize --as ${name}), or pass ${ctx.flag} if the receiver may see personal data`,
    })
  }
}

/** An anonymized snapshot still holds personal-looking columns no rule covers: they were copied as they are. */
export class UnruledPersonalColumnsError extends RotvError {
  constructor(name: string, unruled: readonly { table: string; columns: readonly string[] }[], ctx: EgressContext = { flag: '--force', action: 'export' }) {
    const n = unruled.reduce((s, u) => s + u.columns.length, 0)
    super(`snapshot "${name}" has ${n} personal-looking column${n === 1 ? '' : 's'} that no anonymization rule covers (copied unchanged), so it may not leave this machine (${ctx.action} refused)`, {
      details: unruled.flatMap((u) => u.columns.map((c) => `${u.table}.${c}`)),
      fix: `give each a rule in ${RULES_FILE} (its transform, or 'keep' if it is not personal) and pull again (npx tsx Taskfile.ts seed --anonymize --as ${name}), or pass ${ctx.flag} if the receiver may see these columns`,
    })
  }
}

/** `snapshots scan` found personal-looking data (patterns) or a pull's personal values (fingerprints). */
export class LeakFindingsError extends RotvError {
  constructor(name: string, findings: number, lines: readonly string[]) {
    super(`snapshot "${name}": the leak scan found ${findings} value${findings === 1 ? '' : 's'} that look personal`, {
      details: lines,
      fix: `give the columns named above a rule in ${RULES_FILE} (or freeText: true for their table) and pull again (npx tsx Taskfile.ts seed --anonymize --as ${name}); until then do not hand the snapshot over`,
    })
  }
}
