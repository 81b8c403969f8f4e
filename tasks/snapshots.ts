import { RotvError } from '../lib/errors.ts'
import { ageOf, exportSnapshot, openStore } from '../lib/snapshots/index.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { mb } from './format.ts'

export default defineTask({
  name: 'snapshots',
  description: 'List the stored snapshots (name, source, age, size, rows); `snapshots rm NAME` deletes, `snapshots verify NAME` checks, `snapshots export NAME` writes one file to hand over',
  args: [
    { name: 'action', description: 'list (default), rm, verify or export' },
    { name: 'name', description: 'the snapshot, for rm, verify and export' },
  ],
  options: [
    { name: 'out', type: 'string', description: 'export: target file; .sql.gz (default ./NAME.sql.gz), .sql.br (as stored) or .sql' },
    { name: 'force', type: 'flag', description: 'export: also a snapshot that is not anonymized (it holds personal data)' },
  ],
  examples: [
    'npx tsx Taskfile.ts snapshots',
    'npx tsx Taskfile.ts snapshots rm prod-2026-01',
    'npx tsx Taskfile.ts snapshots verify production',
    'npx tsx Taskfile.ts snapshots export shareable --out shareable.sql.gz   # then: seed --from-file shareable.sql.gz',
  ],
  async run(ctx, io) {
    const store = openStore(ctx.loaded.config.dataHome)
    const inv = ctx.invocations.get('snapshots')
    const action = (inv?.args.action as string | undefined) ?? 'list'
    const name = inv?.args.name as string | undefined
    if (action === 'rm' || action === 'verify' || action === 'export') {
      if (!name) throw new RotvError(`snapshots ${action} needs a snapshot name`, { fix: `npx tsx Taskfile.ts snapshots ${action} NAME` })
      if (action === 'rm') {
        const removed = await store.remove(name)
        if (!removed) throw new RotvError(`there is no snapshot named "${name}"`, { fix: 'run `npx tsx Taskfile.ts snapshots` to list them' })
        return { summary: `removed snapshot "${name}"` }
      }
      if (action === 'export') {
        const r = await exportSnapshot(store, name, { out: inv?.options.out as string | undefined, force: inv?.options.force === true, signal: ctx.signal })
        if (!r.manifest.anonymized) io.warn(`exported snapshot "${name}" is NOT anonymized: ${r.path} holds personal data`)
        const anon = r.manifest.anonymization ? `anonymized (rules ${r.manifest.anonymization.rulesSha256.slice(0, 12)}, salt ${r.manifest.anonymization.saltFingerprint})` : 'not anonymized'
        return { summary: `exported "${name}" to ${r.path} (${r.format}, ${mb(r.bytes)}, ${anon})`, data: { path: r.path, format: r.format, bytes: r.bytes } }
      }
      const m = await store.verify(name)
      return { summary: `snapshot "${name}" is intact (sha256 ${m.sha256.slice(0, 12)}, ${mb(m.compressedBytes)})` }
    }
    if (action !== 'list') throw new RotvError(`unknown action "${action}"`, { fix: 'use list, rm NAME, verify NAME or export NAME' })
    const all = await store.list()
    const maxAge = ctx.loaded.config.seed.maxAgeDays
    // Columns as wide as their widest cell: an age like "less than a minute" no longer shifts the rest.
    const rows = all.map((m) => {
      const age = ageOf(m)
      const biggest = Object.entries(m.tables).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([t, n]) => `${t.replace(/^public\./, '')} ${n.toLocaleString('en-US')}`)
      return [m.name, m.source.kind, `${age.text} old${age.days > maxAge ? ' (STALE)' : ''}`, `${mb(m.compressedBytes)} on disk`, `${m.totalRows.toLocaleString('en-US')} rows`, `(${biggest.join(', ')})${m.anonymized ? '  anonymized' : ''}`]
    })
    for (const line of alignColumns(rows, [3, 4])) io.log(line)
    return { summary: all.length ? `${all.length} snapshot${all.length > 1 ? 's' : ''}` : 'no snapshots yet (npx tsx Taskfile.ts seed)', data: all }
  },
})

/** Cells padded to their column's widest; the columns in `right` are right-aligned (sizes, counts). */
function alignColumns(rows: string[][], right: number[]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), [])
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  '))
}
