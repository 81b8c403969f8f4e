// What a refresh needs to know about each side's tables: the data pg_dump would dump (ordinary tables
// outside the system schemas and extensions), their columns in dump order, a definition fingerprint
// (a changed definition means a whole copy), and an integer key to chunk by.
import { FIELD_SEP, type SqlSession } from './session.ts'

export interface TableInfo {
  /** Quoted schema.table, as pg_dump writes it (public.users, "Odd"."Name"). */
  qualified: string
  schema: string
  name: string
  /** Quoted column names that COPY carries (not generated ones), in attribute order. */
  columns: string[]
  /** md5 of every column's name, type, nullability and generation: equal on both sides = same rows shape. */
  definition: string
  /** Quoted name of a single-column integer unique not-null key (the primary key first), if any. */
  key?: string
}

const COL_SEP = '\x1e'

// Only a single-column int2/int4/int8 key: its ranges are plain arithmetic on both sides, the same in
// every collation and version, and a range is an index range scan on the server.
const TABLES_SQL = `
SELECT format('%I.%I', n.nspname, c.relname), n.nspname, c.relname,
  (SELECT string_agg(quote_ident(a.attname), '${COL_SEP}' ORDER BY a.attnum) FROM pg_attribute a
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''::"char"),
  (SELECT md5(string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull || ':' || a.attgenerated::text, ',' ORDER BY a.attnum))
    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT quote_ident(a.attname) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = c.oid AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL
      AND a.attnotnull AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
    ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 2, 3`

const SEQUENCES_SQL = `
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1`

export async function readTables(session: SqlSession): Promise<Map<string, TableInfo>> {
  const out = new Map<string, TableInfo>()
  for (const [qualified, schema, name, cols, definition, key] of await session.rows(TABLES_SQL)) {
    out.set(qualified!, { qualified: qualified!, schema: schema!, name: name!, columns: cols ? cols.split(COL_SEP) : [], definition: definition ?? '', key: key || undefined })
  }
  return out
}

/** `SELECT pg_catalog.setval(...)` lines as pg_dump writes them, for every sequence. */
export async function sequenceValues(session: SqlSession): Promise<{ name: string; lastValue: string; isCalled: boolean }[]> {
  const names = (await session.rows(SEQUENCES_SQL)).map((r) => r[0]!)
  if (names.length === 0) return []
  const sql = names.map((q) => `SELECT ${literal(q)}, last_value, is_called FROM ${q}`).join(`\nUNION ALL `)
  return (await session.rows(sql)).map(([name, lastValue, isCalled]) => ({ name: name!, lastValue: lastValue!, isCalled: isCalled === 't' }))
}

export function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}

export { FIELD_SEP }
