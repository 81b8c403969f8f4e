// The anonymization rules a project keeps in its repository (anonymize.config.ts): per table and column,
// which transform replaces the value. Typed, so a misspelt transform fails `tsc`; normalized here so the
// stream and the fingerprint see one shape.
import { createHash } from 'node:crypto'
import { InvalidAnonymizeRulesError } from './errors.ts'
import { DETECTORS, type DetectorName } from './detectors.ts'

/** Built-in transforms. Deterministic ones are keyed by the project salt (ANONYMIZE_SALT). */
export type TransformName =
  /** user-<hmac>@example.invalid: a valid, unique, deterministic address on a reserved domain. */
  | 'hash-email'
  /** An opaque deterministic token: digits (at least 20) for all-digit input (OAuth ids), else 32 hex chars. */
  | 'hash'
  /** "Rowan Ashby"-style name from pools disjoint from common test data. */
  | 'fake-name'
  /** +1 555 01xx (numbers reserved for fiction). */
  | 'fake-phone'
  /** The dev password's hash in the app's own format, for every row (NULLs too): log in as anyone. */
  | 'password'
  | 'null'
  | 'empty'
  | 'keep'

export interface TransformContext {
  /** Schema-qualified table, e.g. public.users. */
  table: string
  column: string
  /** HMAC-SHA256 of `text` keyed by the project salt, hex: build your own deterministic values on it. */
  hash(text: string): string
}

/** A custom transform: the decoded value (null for NULL) in, the new value out. Must be deterministic. */
export type CustomTransform = (value: string | null, ctx: TransformContext) => string | null

export interface ColumnRuleObject {
  transform: TransformName | CustomTransform
  /** The column is UNIQUE (or a key): fake-* values get a collision-proof tag, and outputs are checked. */
  unique?: boolean
}

export type ColumnRule = TransformName | CustomTransform | ColumnRuleObject

/** Free-text detectors for one column: on (all of them), off, or these. */
export type FreeTextRule = boolean | DetectorName[]

export type TableRule =
  | 'truncate-table'
  | {
      columns?: Record<string, ColumnRule>
      /** Detectors on this table's text columns (those without a column rule): on/off for all, or per column.
       * Default: on when the table has personal data (a rewriting rule, or a personal-looking column). */
      freeText?: FreeTextRule | Record<string, FreeTextRule>
    }

export interface AnonymizeRules {
  /** Keys: `table` (schema public) or `schema.table`. */
  tables: Record<string, TableRule>
  /** The password every user gets with the `password` transform. Known on purpose: it is a dev database. */
  devPassword: string
  /** Hashes `password` in the app's own format with the given (deterministic) salt. */
  passwordHash: (password: string, salt: Buffer) => string
  /** Where free-text detectors run when a table says nothing: 'personal-tables' (default), 'all-tables', 'off'. */
  freeText?: FreeTextDefault
  /** The leak scan (fingerprints of personal values looked for in every text field). Default true. */
  leakScan?: boolean
}

export type FreeTextDefault = 'personal-tables' | 'all-tables' | 'off'

export function defineAnonymizeRules(rules: AnonymizeRules): AnonymizeRules {
  return rules
}

export interface NormalizedColumnRule {
  transform: TransformName | CustomTransform
  unique: boolean
}

export interface NormalizedRules {
  /** schema.table -> rule */
  tables: Map<string, 'truncate-table' | Map<string, NormalizedColumnRule>>
  devPassword: string
  passwordHash: (password: string, salt: Buffer) => string
  /** schema.table -> its freeText setting, when it has one: detectors for all text columns, or per column. */
  freeText: Map<string, DetectorName[] | false | Map<string, DetectorName[] | false>>
  freeTextDefault: FreeTextDefault
  leakScan: boolean
  /** sha256 of the rules' canonical text (custom functions by their source): what the manifest records. */
  sha256: string
}

const TRANSFORMS: ReadonlySet<string> = new Set(['hash-email', 'hash', 'fake-name', 'fake-phone', 'password', 'null', 'empty', 'keep'])

export function normalizeRules(rules: AnonymizeRules, origin = 'anonymize rules'): NormalizedRules {
  const bad = (why: string) => new InvalidAnonymizeRulesError(origin, why)
  if (!rules || typeof rules !== 'object' || !rules.tables || typeof rules.tables !== 'object') throw bad('it must export { tables: { ... }, devPassword, passwordHash }')
  if (typeof rules.devPassword !== 'string' || rules.devPassword.length < 4) throw bad('devPassword must be a string of at least 4 characters')
  if (typeof rules.passwordHash !== 'function') throw bad('passwordHash must be a function (password, salt) => hash in the app\'s format')
  const tables = new Map<string, 'truncate-table' | Map<string, NormalizedColumnRule>>()
  const freeText: NormalizedRules['freeText'] = new Map()
  const freeTextDefault = rules.freeText ?? 'personal-tables'
  if (!['personal-tables', 'all-tables', 'off'].includes(freeTextDefault)) throw bad(`freeText must be 'personal-tables', 'all-tables' or 'off', not "${String(freeTextDefault)}"`)
  const detectors = (where: string, r: unknown): DetectorName[] | false => {
    if (r === true) return [...DETECTORS]
    if (r === false) return false
    if (Array.isArray(r) && r.every((d) => DETECTORS.includes(d as DetectorName))) return [...(r as DetectorName[])]
    throw bad(`${where}: freeText must be true, false or a list of detectors (${DETECTORS.join(', ')})`)
  }
  for (const [key, rule] of Object.entries(rules.tables)) {
    const table = key.includes('.') ? key : `public.${key}`
    if (tables.has(table)) throw bad(`table ${table} is named twice`)
    if (rule === 'truncate-table') {
      tables.set(table, rule)
      continue
    }
    if (!rule || typeof rule !== 'object' || (!rule.columns && rule.freeText === undefined)) throw bad(`table ${key}: use 'truncate-table' or { columns: { ... }, freeText }`)
    if (rule.freeText !== undefined) {
      const ft = rule.freeText
      if (typeof ft === 'object' && !Array.isArray(ft) && ft !== null) {
        freeText.set(table, new Map(Object.entries(ft).map(([c, r]) => [c, detectors(`${table}.${c}`, r)])))
      } else freeText.set(table, detectors(table, ft))
    }
    const cols = new Map<string, NormalizedColumnRule>()
    for (const [column, c] of Object.entries(rule.columns ?? {})) {
      const obj: ColumnRuleObject = typeof c === 'object' && c !== null ? c : { transform: c as TransformName | CustomTransform }
      if (typeof obj.transform !== 'function' && !TRANSFORMS.has(obj.transform)) {
        throw bad(`${table}.${column}: unknown transform "${String(obj.transform)}" (known: ${[...TRANSFORMS].join(', ')}, or a function)`)
      }
      cols.set(column, { transform: obj.transform, unique: obj.unique === true })
    }
    tables.set(table, cols)
  }
  const canonical = JSON.stringify({
    tables: [...tables.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([t, r]) =>
      [t, r === 'truncate-table' ? r : [...r.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, cr]) => [c, fnText(cr.transform), cr.unique])]),
    devPassword: rules.devPassword,
    passwordHash: fnText(rules.passwordHash),
    // Only when set, so rules written before free text existed keep their fingerprint.
    ...(freeText.size ? { freeText: [...freeText.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([t, r]) => [t, r instanceof Map ? [...r.entries()].sort() : r]) } : {}),
    ...(rules.freeText !== undefined ? { freeTextDefault } : {}),
    ...(rules.leakScan !== undefined ? { leakScan: rules.leakScan } : {}),
  })
  return {
    tables, devPassword: rules.devPassword, passwordHash: rules.passwordHash, freeText, freeTextDefault, leakScan: rules.leakScan !== false,
    sha256: createHash('sha256').update(canonical).digest('hex'),
  }
}

function fnText(x: unknown): unknown {
  return typeof x === 'function' ? `function:${x.toString()}` : x
}
