// What a dump statement means for scheduling: does it change session state (to be replayed on every
// connection), which tables does it touch (so post-data work on different tables can run in parallel
// while one table's statements stay in order), or must it run alone.
//
// Only the shapes pg_dump writes are recognised; anything else is 'other' and runs serially after all
// earlier work has finished, which is always correct, just slower.

export type StatementClass =
  /** SET / RESET / SELECT pg_catalog.set_config(..., false): session state, keyed by parameter. */
  | { kind: 'session'; key: string }
  | { kind: 'transaction'; opens: boolean }
  /**
   * Post-data DDL confined to the listed tables (first is the one altered). `creates`: a CREATE INDEX,
   * which takes a SHARE lock, so index builds on one table can run side by side. `viaIndex`: a plain
   * `ADD CONSTRAINT name PRIMARY KEY|UNIQUE (columns)`, which can be built the same way (as a unique
   * index, then attached with `ADD CONSTRAINT ... USING INDEX`, which is instant).
   */
  | { kind: 'table-ddl'; tables: string[]; creates?: { index: string }; viaIndex?: ConstraintViaIndex }
  /** COMMENT ON INDEX: belongs to whatever table the index is on. */
  | { kind: 'index-comment'; index: string }
  | { kind: 'sequence-set' }
  | { kind: 'create-table'; table: string; partitioned: boolean }
  | { kind: 'create-extension'; name: string }
  | { kind: 'copy'; table: string }
  /** --clean's DROP ... IF EXISTS (and ALTER TABLE IF EXISTS ... DROP ... IF EXISTS). */
  | { kind: 'clean-drop' }
  | { kind: 'other' }

export interface ConstraintViaIndex {
  /** The constraint's name as the dump spells it (quoted when it needs quotes). */
  name: string
  type: 'PRIMARY KEY' | 'UNIQUE'
  /** The parenthesised column list, as the dump spells it. */
  columns: string
}

// an identifier as pg_dump writes it: "quoted ""with"" quotes" or plain
const ID = String.raw`(?:"(?:[^"]|"")*"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)`
const QID = String.raw`${ID}(?:\s*\.\s*${ID})*`

const SET_RE = /^(?:SET|RESET)\s+(?:SESSION\s+(?!AUTHORIZATION|CHARACTERISTICS))?(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)(TIME\s+ZONE|SESSION\s+AUTHORIZATION|"?[\w.]+"?)/i
const SET_CONFIG_RE = /^SELECT\s+(?:pg_catalog\.)?set_config\s*\(\s*'([^']+)'\s*,[\s\S]*,\s*false\s*\)\s*;$/i
const TXN_RE = /^(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT)\b/i
const CREATE_INDEX_RE = new RegExp(String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)(?:IF\s+NOT\s+EXISTS\s+)?(${QID})\s+ON\s+(?:ONLY\s+)?(${QID})`, 'i')
// only ALTER TABLE ONLY: without ONLY the statement recurses into inheritance children / partitions,
// whose own work is scheduled independently
const ALTER_TABLE_RE = new RegExp(String.raw`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?ONLY\s+(${QID})\s+([\s\S]*)$`, 'i')
// exactly pg_dump's form with nothing after the column list: no DEFERRABLE, INCLUDE, WITH, USING
// INDEX TABLESPACE or NULLS NOT DISTINCT, which an index-then-attach rewrite would not reproduce
const PLAIN_KEY_RE = new RegExp(String.raw`^ADD\s+CONSTRAINT\s+(${ID})\s+(PRIMARY\s+KEY|UNIQUE)\s*(\(\s*${ID}(?:\s*,\s*${ID})*\s*\))\s*;$`, 'i')
const ADD_CONSTRAINT_RE = new RegExp(String.raw`^ADD\s+CONSTRAINT\s+${ID}\s+(PRIMARY\s+KEY|UNIQUE|CHECK|EXCLUDE|FOREIGN\s+KEY)\b`, 'i')
const REFERENCES_RE = new RegExp(String.raw`\bREFERENCES\s+(${QID})`, 'i')
const CREATE_TRIGGER_RE = new RegExp(String.raw`^CREATE\s+(?:OR\s+REPLACE\s+)?(?:CONSTRAINT\s+)?TRIGGER\s+${ID}\s+[\s\S]*?\sON\s+(${QID})(?:\s+FROM\s+(${QID}))?`, 'i')
const COMMENT_ON_RE = new RegExp(String.raw`^COMMENT\s+ON\s+(?:CONSTRAINT|TRIGGER|POLICY|RULE)\s+${ID}\s+ON\s+(?:DOMAIN\s+)?(${QID})\s+IS\b`, 'i')
const COMMENT_ON_DOMAIN_RE = /^COMMENT\s+ON\s+CONSTRAINT\s+\S+\s+ON\s+DOMAIN\b/i
const COMMENT_ON_INDEX_RE = new RegExp(String.raw`^COMMENT\s+ON\s+INDEX\s+(${QID})\s+IS\b`, 'i')
const CREATE_TABLE_RE = new RegExp(String.raw`^CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(${QID})\s*\(`, 'i')
const CREATE_EXTENSION_RE = new RegExp(String.raw`^CREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?(${ID})`, 'i')
const COPY_RE = new RegExp(String.raw`^COPY\s+(${QID})`, 'i')
// ALTER DOMAIN d DROP CONSTRAINT IF EXISTS c: pg_dump --clean --if-exists writes it for a NOT VALID
// domain constraint; it fails when the domain itself does not exist, which psql reports and passes over
const CLEAN_DROP_RE = /^(?:DROP\s+(?:[A-Z]+\s+){1,3}IF\s+EXISTS\s|ALTER\s+TABLE\s+IF\s+EXISTS\s+[\s\S]*\sDROP\s+(?:CONSTRAINT\s+)?IF\s+EXISTS\s|ALTER\s+DOMAIN\s+[\s\S]*\sDROP\s+CONSTRAINT\s+IF\s+EXISTS\s)/i
const SETVAL_RE = /^SELECT\s+(?:pg_catalog\.)?setval\s*\(/i

/** Classify one complete statement (as split by the lexer: starts at its first token, ends with ';'). */
export function classifyStatement(sql: string): StatementClass {
  const head = sql.slice(0, 4096)
  let m: RegExpExecArray | null
  if ((m = SET_RE.exec(head))) return { kind: 'session', key: m[1]!.toLowerCase().replace(/\s+/g, ' ') }
  if ((m = SET_CONFIG_RE.exec(sql.length < 4096 ? sql : ''))) return { kind: 'session', key: m[1]!.toLowerCase() }
  if ((m = TXN_RE.exec(head))) return { kind: 'transaction', opens: /^(BEGIN|START)/i.test(m[1]!) }
  if ((m = COPY_RE.exec(head))) return { kind: 'copy', table: normalizeName(m[1]!) }
  if (SETVAL_RE.test(head)) return { kind: 'sequence-set' }
  if (CLEAN_DROP_RE.test(head)) return { kind: 'clean-drop' }
  if ((m = CREATE_INDEX_RE.exec(head))) {
    return { kind: 'table-ddl', tables: [normalizeName(m[2]!)], creates: { index: qualifyLike(normalizeName(m[1]!), normalizeName(m[2]!)) } }
  }
  if ((m = ALTER_TABLE_RE.exec(head))) {
    const table = normalizeName(m[1]!)
    const rest = m[2]!
    const add = ADD_CONSTRAINT_RE.exec(rest)
    if (add) {
      if (/^FOREIGN/i.test(add[1]!)) {
        const ref = REFERENCES_RE.exec(rest)
        if (!ref) return { kind: 'other' }
        const target = normalizeName(ref[1]!)
        return { kind: 'table-ddl', tables: target === table ? [table] : [table, target] }
      }
      const key = PLAIN_KEY_RE.exec(rest)
      if (key) {
        const type = /^PRIMARY/i.test(key[2]!) ? 'PRIMARY KEY' : 'UNIQUE'
        return { kind: 'table-ddl', tables: [table], viaIndex: { name: key[1]!, type, columns: key[3]! } }
      }
      return { kind: 'table-ddl', tables: [table] }
    }
    if (/^(CLUSTER\s+ON|REPLICA\s+IDENTITY|(ENABLE|DISABLE)\s+(ALWAYS\s+|REPLICA\s+)?TRIGGER)\b/i.test(rest)) return { kind: 'table-ddl', tables: [table] }
    return { kind: 'other' }
  }
  if ((m = CREATE_TRIGGER_RE.exec(head))) {
    const tables = [normalizeName(m[1]!)]
    if (m[2] && normalizeName(m[2]) !== tables[0]) tables.push(normalizeName(m[2]))
    return { kind: 'table-ddl', tables }
  }
  if ((m = COMMENT_ON_INDEX_RE.exec(head))) return { kind: 'index-comment', index: normalizeName(m[1]!) }
  if (!COMMENT_ON_DOMAIN_RE.test(head) && (m = COMMENT_ON_RE.exec(head))) return { kind: 'table-ddl', tables: [normalizeName(m[1]!)] }
  if ((m = CREATE_TABLE_RE.exec(head))) {
    return { kind: 'create-table', table: normalizeName(m[1]!), partitioned: /\)\s*PARTITION\s+BY\s/i.test(sql) }
  }
  if ((m = CREATE_EXTENSION_RE.exec(head))) return { kind: 'create-extension', name: unquote(m[1]!) }
  return { kind: 'other' }
}

/** A qualified name in one canonical spelling: unquoted parts folded to lower case, quotes kept where needed. */
export function normalizeName(name: string): string {
  const parts: string[] = []
  const re = new RegExp(ID, 'g')
  let m: RegExpExecArray | null
  while ((m = re.exec(name))) {
    const raw = m[0]
    const part = raw.startsWith('"') ? unquote(raw) : raw.toLowerCase()
    parts.push(/^[a-z_][a-z0-9_$]*$/.test(part) ? part : `"${part.replace(/"/g, '""')}"`)
  }
  return parts.join('.')
}

function unquote(id: string): string {
  return id.startsWith('"') ? id.slice(1, -1).replace(/""/g, '"') : id.toLowerCase()
}

// An index lives in its table's schema; pg_dump writes `CREATE INDEX name ON schema.table` (unqualified
// index name) but `COMMENT ON INDEX schema.name`.
function qualifyLike(index: string, table: string): string {
  if (index.includes('.')) return index
  const dot = lastDot(table)
  return dot < 0 ? index : `${table.slice(0, dot)}.${index}`
}

function lastDot(name: string): number {
  let inQuote = false
  let last = -1
  for (let i = 0; i < name.length; i++) {
    if (name[i] === '"') inQuote = !inQuote
    else if (name[i] === '.' && !inQuote) last = i
  }
  return last
}
