// Reads a database's schema from the system catalogs into a flat, comparable model. Definitions come
// from the server's own deparsers (pg_get_indexdef, pg_get_constraintdef, pg_get_viewdef,
// pg_get_functiondef, pg_get_triggerdef, format_type, pg_get_expr), so two databases on the same
// server compare equal exactly when PostgreSQL would re-create the same object, whatever the
// whitespace or spelling of the SQL that made them.
//
//   readSchema(client): Promise<SchemaModel>
//
// Why hand-written queries and not a schema-diff package: the closest maintained one on npm,
// @pgkit/schemainspect (a TypeScript port of Python's schemainspect, used by @pgkit/migra), was tried
// and reads these objects fine, but it is a 0.x single-maintainer port with a Python-shaped API, brings
// 32 packages including a second, pinned `pg` (~8.14) and pg-promise, and migra's output is a DDL
// script, not the per-object, two-sided report needed here. The server's deparsers already do the
// hard part; what is left is a dozen catalog queries.
//
// Only the user's objects: system schemas and objects that belong to an extension are left out (the
// extension itself is one object). Ownership, privileges and comments are not compared: snapshots are
// dumped with --no-owner --no-acl, so they never carry them.
import type pg from 'pg'

export type ObjectKind =
  | 'schema'
  | 'extension'
  | 'enum'
  | 'sequence'
  | 'table'
  | 'column'
  | 'constraint'
  | 'index'
  | 'view'
  | 'materialized view'
  | 'function'
  | 'trigger'

export type AttributeValue = string | boolean | null

export interface SchemaObject {
  kind: ObjectKind
  /** Schema-qualified for top-level objects (public.pois); the bare name for columns, constraints, indexes, triggers. */
  name: string
  /** The owning table (schema-qualified) of a column, constraint, index or trigger. */
  table?: string
  /** One canonical line (or block, for functions and views) as the server deparses it. */
  definition: string
  /** The parts of the definition, for --json and for saying which part differs (columns: type, nullable, default). */
  attributes?: Record<string, AttributeValue>
}

export interface SchemaModel {
  /** Keyed by objectKey(). */
  objects: Map<string, SchemaObject>
}

/** Identity of an object across two databases: kind, owning table, name. */
export function objectKey(o: Pick<SchemaObject, 'kind' | 'name' | 'table'>): string {
  return `${o.kind}\0${o.table ?? ''}\0${o.name}`
}

/** The schema of the database `client` is connected to. Runs read-only queries in one transaction. */
export async function readSchema(client: pg.Client): Promise<SchemaModel> {
  const objects = new Map<string, SchemaObject>()
  const add = (o: SchemaObject) => objects.set(objectKey(o), o)
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
  try {
    // With only pg_catalog on the search path every name the deparsers print is schema-qualified, so
    // the definitions do not depend on the session's search_path.
    await client.query('SET LOCAL search_path = pg_catalog')
    const q = async <T>(sql: string): Promise<T[]> => (await client.query(sql)).rows as T[]

    for (const r of await q<{ name: string }>(`SELECT n.nspname AS name FROM pg_namespace n WHERE ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_namespace', 'n.oid')}`)) {
      add({ kind: 'schema', name: r.name, definition: `schema ${r.name}` })
    }

    for (const r of await q<{ name: string; version: string; schema: string }>(
      `SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace`,
    )) {
      add({ kind: 'extension', name: r.name, definition: `extension ${r.name} version ${r.version} in schema ${r.schema}`, attributes: { version: r.version, schema: r.schema } })
    }

    for (const r of await q<{ name: string; labels: string[] }>(
      `SELECT format('%I.%I', n.nspname, t.typname) AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_type', 't.oid')}
        GROUP BY 1`,
    )) {
      add({ kind: 'enum', name: r.name, definition: `ENUM (${r.labels.map(literal).join(', ')})`, attributes: { labels: r.labels.join(', ') } })
    }

    for (const r of await q<{ name: string; type: string; start: string; increment: string; min: string; max: string; cache: string; cycle: boolean; owned_by: string | null }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, format_type(s.seqtypid, NULL) AS type,
              s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
              s.seqcache::text AS cache, s.seqcycle AS cycle,
              (SELECT format('%I.%I.%I', tn.nspname, tc.relname, a.attname)
                 FROM pg_depend d JOIN pg_class tc ON tc.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
                 JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                  AND d.deptype IN ('a', 'i') LIMIT 1) AS owned_by
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`,
    )) {
      const definition = `AS ${r.type} START ${r.start} INCREMENT ${r.increment} MINVALUE ${r.min} MAXVALUE ${r.max} CACHE ${r.cache}${r.cycle ? ' CYCLE' : ''}${r.owned_by ? ` OWNED BY ${r.owned_by}` : ''}`
      add({ kind: 'sequence', name: r.name, definition, attributes: { type: r.type, start: r.start, increment: r.increment, min: r.min, max: r.max, cache: r.cache, cycle: r.cycle, ownedBy: r.owned_by } })
    }

    for (const r of await q<{ name: string; relkind: string; persistence: string; partition_key: string | null; partition_of: string | null; bound: string | null; inherits: string | null }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS relkind, c.relpersistence::text AS persistence,
              CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
              CASE WHEN c.relispartition THEN (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid) END AS partition_of,
              CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
              CASE WHEN NOT c.relispartition THEN (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid) END AS inherits
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`,
    )) {
      const parts = [r.persistence === 'u' ? 'UNLOGGED TABLE' : 'TABLE']
      if (r.partition_of) parts.push(`PARTITION OF ${r.partition_of} ${r.bound}`)
      if (r.partition_key) parts.push(`PARTITION BY ${r.partition_key}`)
      if (r.inherits) parts.push(`INHERITS (${r.inherits})`)
      add({ kind: 'table', name: r.name, definition: parts.join(' ') })
    }

    for (const r of await q<{ table: string; name: string; type: string; not_null: boolean; default: string | null; identity: string; generated: string; collation: string | null }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
              a.attnotnull AS not_null, pg_get_expr(ad.adbin, ad.adrelid) AS default, a.attidentity::text AS identity,
              a.attgenerated::text AS generated,
              CASE WHEN a.attcollation <> t.typcollation THEN (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_type t ON t.oid = a.atttypid
         LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
          AND ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`,
    )) {
      const generated = r.generated === 's' ? r.default : null
      const dflt = r.generated === 's' ? null : r.default
      const identity = r.identity === 'a' ? 'ALWAYS' : r.identity === 'd' ? 'BY DEFAULT' : null
      let definition = r.type
      if (r.collation) definition += ` COLLATE ${r.collation}`
      if (r.not_null) definition += ' NOT NULL'
      if (dflt !== null) definition += ` DEFAULT ${dflt}`
      if (generated !== null) definition += ` GENERATED ALWAYS AS (${generated}) STORED`
      if (identity) definition += ` GENERATED ${identity} AS IDENTITY`
      add({
        kind: 'column',
        table: r.table,
        name: r.name,
        definition,
        attributes: { type: r.type, nullable: !r.not_null, default: dflt, identity, generated, collation: r.collation },
      })
    }

    for (const r of await q<{ table: string; name: string; type: string; definition: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS table, co.conname AS name, co.contype::text AS type, pg_get_constraintdef(co.oid) AS definition
         FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE co.contype IN ('p', 'u', 'f', 'c', 'x') AND ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`,
    )) {
      add({ kind: 'constraint', table: r.table, name: r.name, definition: r.definition, attributes: { type: CONSTRAINT_TYPES[r.type] ?? r.type } })
    }

    // Indexes that back a primary key, unique or exclusion constraint are that constraint: listing them
    // again would report one change twice.
    for (const r of await q<{ table: string; name: string; definition: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS table, ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
          AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x'))`,
    )) {
      add({ kind: 'index', table: r.table, name: r.name, definition: r.definition })
    }

    for (const r of await q<{ name: string; relkind: string; definition: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS relkind, pg_get_viewdef(c.oid) AS definition
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('v', 'm') AND ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`,
    )) {
      add({ kind: r.relkind === 'm' ? 'materialized view' : 'view', name: r.name, definition: r.definition.trim() })
    }

    for (const r of await q<{ name: string; definition: string }>(
      `SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS name, pg_get_functiondef(p.oid) AS definition
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind IN ('f', 'p') AND ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_proc', 'p.oid')}`,
    )) {
      add({ kind: 'function', name: r.name, definition: r.definition.trim() })
    }

    for (const r of await q<{ table: string; name: string; definition: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS table, tg.tgname AS name, pg_get_triggerdef(tg.oid) AS definition
         FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT tg.tgisinternal AND ${USER_NAMESPACE('n')} AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}`,
    )) {
      add({ kind: 'trigger', table: r.table, name: r.name, definition: r.definition })
    }
  } finally {
    await client.query('ROLLBACK').catch(() => {})
  }
  return { objects }
}

const CONSTRAINT_TYPES: Record<string, string> = { p: 'primary key', u: 'unique', f: 'foreign key', c: 'check', x: 'exclusion' }

function USER_NAMESPACE(alias: string): string {
  return `${alias}.nspname NOT IN ('pg_catalog', 'information_schema') AND ${alias}.nspname NOT LIKE 'pg\\_toast%' AND ${alias}.nspname NOT LIKE 'pg\\_temp\\_%'`
}

/** Objects an extension created are the extension's business, not the schema's. */
function NOT_EXTENSION_MEMBER(catalog: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '${catalog}'::regclass AND xd.objid = ${oid} AND xd.deptype = 'e')`
}

function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}
