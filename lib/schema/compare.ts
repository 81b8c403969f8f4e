// Structural comparison of two schema models: which objects only one side has, and which both have
// with different definitions (and which parts of them differ).
//
//   compareSchemas(production, migrations): SchemaDifference[]
import { objectKey, type AttributeValue, type ObjectKind, type SchemaModel, type SchemaObject } from './catalog.ts'

export type DifferenceChange = 'only-in-production' | 'only-in-migrations' | 'differs'

/** One side of a difference: the object's definition there. */
export interface DefinitionSide {
  definition: string
  attributes?: Record<string, AttributeValue>
}

export interface SchemaDifference {
  kind: ObjectKind
  /** Owning table of a column, constraint, index or trigger. */
  table?: string
  name: string
  change: DifferenceChange
  /** The object as production (the snapshot) has it; null when production lacks it. */
  production: DefinitionSide | null
  /** The object as the migrations make it; null when no migration makes it. */
  migrations: DefinitionSide | null
  /** For `differs`: the attributes that differ (type, nullable, default, ...), or ['definition']. */
  fields?: string[]
}

/** Every difference between the two models, sorted by table/object, then kind, then name. */
export function compareSchemas(production: SchemaModel, migrations: SchemaModel): SchemaDifference[] {
  const out: SchemaDifference[] = []
  const keys = new Set([...production.objects.keys(), ...migrations.objects.keys()])
  for (const key of keys) {
    const p = production.objects.get(key)
    const m = migrations.objects.get(key)
    const any = (p ?? m)!
    const base = { kind: any.kind, ...(any.table ? { table: any.table } : {}), name: any.name }
    if (p && !m) out.push({ ...base, change: 'only-in-production', production: side(p), migrations: null })
    else if (m && !p) out.push({ ...base, change: 'only-in-migrations', production: null, migrations: side(m) })
    else if (p && m && p.definition !== m.definition) out.push({ ...base, change: 'differs', production: side(p), migrations: side(m), fields: changedFields(p, m) })
  }
  return out.sort(byObject)
}

/** The same identity as objectKey(), for matching differences between two comparisons. */
export function differenceKey(d: Pick<SchemaDifference, 'kind' | 'name' | 'table'>): string {
  return objectKey(d)
}

/** The object a difference belongs to in a report: its table for table parts, else itself. */
export function groupOf(d: Pick<SchemaDifference, 'kind' | 'name' | 'table'>): { kind: ObjectKind; name: string } {
  return d.table ? { kind: 'table', name: d.table } : { kind: d.kind, name: d.name }
}

function side(o: SchemaObject): DefinitionSide {
  return o.attributes ? { definition: o.definition, attributes: o.attributes } : { definition: o.definition }
}

function changedFields(p: SchemaObject, m: SchemaObject): string[] {
  if (!p.attributes || !m.attributes) return ['definition']
  const names = new Set([...Object.keys(p.attributes), ...Object.keys(m.attributes)])
  const fields = [...names].filter((n) => (p.attributes![n] ?? null) !== (m.attributes![n] ?? null))
  return fields.length ? fields : ['definition']
}

// Tables first, each followed by its parts; then the other kinds in a fixed order.
const KIND_ORDER: ObjectKind[] = ['schema', 'extension', 'enum', 'table', 'column', 'constraint', 'index', 'trigger', 'sequence', 'view', 'materialized view', 'function']

function byObject(a: SchemaDifference, b: SchemaDifference): number {
  const ga = groupOf(a)
  const gb = groupOf(b)
  return (
    KIND_ORDER.indexOf(ga.kind) - KIND_ORDER.indexOf(gb.kind) ||
    ga.name.localeCompare(gb.name) ||
    KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
    a.name.localeCompare(b.name)
  )
}
