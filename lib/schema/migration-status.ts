// What production's migrations table (public.schema_migrations: id, checksum, applied_at) says
// against the repository's migrations: applied, pending, applied there but missing here, and applied
// ones whose file changed since.
//
//   migrationStatus(client, migrations): Promise<MigrationStatus>
import type pg from 'pg'
import { MIGRATIONS_TABLE, type Migration } from '../migrations.ts'

export interface AppliedMigration {
  id: string
  checksum: string
  /** ISO time the migration was applied on production. */
  appliedAt: string | null
}

export interface MigrationStatus {
  /** False when production has no migrations table at all (every migration is then pending). */
  tablePresent: boolean
  /** Applied on production and present in the repository, in the repository's order. */
  applied: AppliedMigration[]
  /** In the repository, not applied on production: what the next deploy runs. */
  pending: string[]
  /** Recorded as applied on production with no file in the repository (a branch deployed, a file deleted). */
  missingFromRepository: AppliedMigration[]
  /** Applied on production, but the file changed since (the change will never run there). */
  changedSinceApplied: { id: string; productionChecksum: string; repositoryChecksum: string }[]
}

export async function migrationStatus(client: pg.Client, migrations: readonly Migration[]): Promise<MigrationStatus> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('${MIGRATIONS_TABLE}')::text AS t`)
  const recorded = new Map<string, AppliedMigration>()
  if (exists.rows[0]?.t) {
    const rows = await client.query<{ id: string; checksum: string; applied_at: Date | null }>(`SELECT id, checksum, applied_at FROM ${MIGRATIONS_TABLE} ORDER BY id`)
    for (const r of rows.rows) recorded.set(r.id, { id: r.id, checksum: r.checksum, appliedAt: r.applied_at ? r.applied_at.toISOString() : null })
  }
  const known = new Set(migrations.map((m) => m.id))
  const status: MigrationStatus = {
    tablePresent: Boolean(exists.rows[0]?.t),
    applied: [],
    pending: [],
    missingFromRepository: [...recorded.values()].filter((r) => !known.has(r.id)),
    changedSinceApplied: [],
  }
  for (const m of migrations) {
    const r = recorded.get(m.id)
    if (!r) {
      status.pending.push(m.id)
      continue
    }
    status.applied.push(r)
    if (r.checksum !== m.sha256) status.changedSinceApplied.push({ id: m.id, productionChecksum: r.checksum, repositoryChecksum: m.sha256 })
  }
  return status
}
