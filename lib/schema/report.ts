// The readable report of a schema validation: migrations first, then the differences grouped by the
// object they belong to (a table with its columns, constraints, indexes and triggers; each other
// object on its own), each saying which side has what.
//
//   formatValidation(v): string[]    every line of the report
//   describeDifference(d): string[]  one difference (first line names it; definitions follow)
import { groupOf, type SchemaDifference } from './compare.ts'
import type { SchemaValidation } from './validate.ts'

/**
 * `side` names where the snapshot's schema came from, as the sentences say it: "production" for a
 * pulled snapshot, "the demo data" for the bundled one (which no production ever applied anything to).
 */
export function formatValidation(v: SchemaValidation, side = 'production'): string[] {
  const lines: string[] = []
  const m = v.migrations
  lines.push(
    `migrations: ${m.applied.length} applied on ${side}, ${m.pending.length} pending${m.pending.length ? ` (${m.pending.join(', ')})` : ''}, ` +
      `${m.missingFromRepository.length} applied on ${side} but missing from the repository${m.missingFromRepository.length ? ` (${m.missingFromRepository.map((x) => x.id).join(', ')})` : ''}`,
  )
  if (!m.tablePresent) lines.push(`  ${side} has no public.schema_migrations table: every migration counts as pending`)
  for (const c of m.changedSinceApplied) {
    lines.push(`  ${c.id} changed after ${side} applied it (${side} sha256 ${c.productionChecksum.slice(0, 12)}…, repository ${c.repositoryChecksum.slice(0, 12)}…): the change never runs there`)
  }
  if (v.pendingFailure) lines.push(`a pending migration fails on ${side}'s schema: ${v.pendingFailure.message}`)

  if (v.drift.length) {
    lines.push('')
    const after = m.pending.length && !v.pendingFailure ? ' (with the pending migrations applied)' : ''
    lines.push(`DRIFT: ${v.drift.length} difference${v.drift.length === 1 ? '' : 's'} between ${side}${after} and the migrations:`)
    lines.push(...grouped(v.drift, side))
  }
  if (v.pending.length) {
    lines.push('')
    lines.push(`PENDING: ${v.pending.length} difference${v.pending.length === 1 ? '' : 's'} the pending migrations (${m.pending.join(', ')}) will remove:`)
    lines.push(...grouped(v.pending, side))
  }
  if (!v.drift.length && !v.pending.length) lines.push(`no differences: ${side}'s schema is what the migrations make (${v.objects.production} objects compared)`)
  return lines
}

export function describeDifference(d: SchemaDifference, side = 'production'): string[] {
  const what = `${d.kind} ${d.name}`
  const p = d.production?.definition
  const m = d.migrations?.definition
  const multiline = (p ?? '').includes('\n') || (m ?? '').includes('\n')
  if (!multiline) {
    if (d.change === 'only-in-production') return [`${what}: ${side} has \`${p}\`; no migration makes it`]
    if (d.change === 'only-in-migrations') return [`${what}: ${side} lacks it; the migrations make \`${m}\``]
    return [`${what} (${(d.fields ?? ['definition']).join(', ')} differ${d.fields?.length === 1 ? 's' : ''}): ${side} has \`${p}\`; the migrations make \`${m}\``]
  }
  const block = (label: string, text: string | undefined) => (text === undefined ? [] : [`  ${label}:`, ...text.split('\n').map((l) => `    ${l}`)])
  if (d.change === 'only-in-production') return [`${what}: only ${side} has it; no migration makes it`, ...block(side, p)]
  if (d.change === 'only-in-migrations') return [`${what}: ${side} lacks it; the migrations make it`, ...block('migrations', m)]
  // Both sides, line by line: "-" only production has the line, "+" only the migrations make it.
  return [`${what}: definitions differ (- ${side}, + migrations)`, ...lineDiff(p!.split('\n'), m!.split('\n')).map((l) => `  ${l}`)]
}

/** A full listing of both texts with each line marked "  " (both), "- " (first only) or "+ " (second only). */
export function lineDiff(a: readonly string[], b: readonly string[]): string[] {
  // Longest common subsequence table; definitions are at most a few hundred lines.
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0))
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
  }
  const out: string[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`)
      j++
    } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`- ${a[i++]}`)
    else out.push(`+ ${b[j++]}`)
  }
  return out
}

function grouped(diffs: SchemaDifference[], side: string): string[] {
  const lines: string[] = []
  let current = ''
  for (const d of diffs) {
    const g = groupOf(d)
    const title = `${g.kind} ${g.name}`
    if (d.table) {
      if (title !== current) lines.push(`  ${title}`)
      current = title
      lines.push(...describeDifference(d, side).map((l) => `    ${l}`))
    } else {
      current = title
      lines.push(...describeDifference(d, side).map((l) => `  ${l}`))
    }
  }
  return lines
}
