import { RotvError } from '../lib/errors.ts'
import { describeFindings, scanSnapshot } from '../lib/anonymize/index.ts'
import { LeakFindingsError } from '../lib/anonymize/errors.ts'
import { ageOf, exportSnapshot, openStore } from '../lib/snapshots/index.ts'
import { describeSchedule, scheduleStatus } from '../lib/schedule/index.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { mb } from './format.ts'

export default defineTask({
  name: 'snapshots',
  description: 'List the stored snapshots (name, source, age, size, rows); `snapshots rm NAME` deletes, `snapshots verify NAME` checks, `snapshots export NAME` writes one file to hand over, `snapshots scan NAME` runs the leak scan (exit 1 on findings)',
  args: [
    { name: 'action', description: 'list (default), rm, verify, export or scan' },
    { name: 'name', description: 'the snapshot, for rm, verify, export and scan' },
  ],
  options: [
    { name: 'out', type: 'string', description: 'export: target file; .sql.gz (default ./NAME.sql.gz), .sql.br (as stored) or .sql' },
    { name: 'force', type: 'flag', description: 'export: also a snapshot that may not leave the machine (not anonymized, or personal-looking columns without a rule)' },
  ],
  examples: [
    'npx tsx Taskfile.ts snapshots',
    'npx tsx Taskfile.ts snapshots rm prod-2026-01',
    'npx tsx Taskfile.ts snapshots verify production',
    'npx tsx Taskfile.ts snapshots export shareable --out shareable.sql.gz   # then: seed --from-file shareable.sql.gz',
    'npx tsx Taskfile.ts snapshots scan shareable   # personal data left? exit 1 if so',
  ],
  async run(ctx, io) {
    const store = openStore(ctx.loaded.config.dataHome)
    const inv = ctx.invocations.get('snapshots')
    const action = (inv?.args.action as string | undefined) ?? 'list'
    const name = inv?.args.name as string | undefined
    if (action === 'rm' || action === 'verify' || action === 'export' || action === 'scan') {
      if (!name) throw new RotvError(`snapshots ${action} needs a snapshot name`, { fix: `npx tsx Taskfile.ts snapshots ${action} NAME` })
      if (action === 'rm') {
        const removed = await store.remove(name)
        if (!removed) throw new RotvError(`there is no snapshot named "${name}"`, { fix: 'run `npx tsx Taskfile.ts snapshots` to list them' })
        return { summary: `removed snapshot "${name}"` }
      }
      if (action === 'export') {
        const r = await exportSnapshot(store, name, { out: inv?.options.out as string | undefined, force: inv?.options.force === true, signal: ctx.signal })
        if (r.verdict.warning) io.warn(`${r.verdict.warning}: ${r.path} is readable by you only`)
        const anon = r.manifest.synthetic
          ? 'synthetic demo data'
          : r.manifest.anonymization ? `anonymized (rules ${r.manifest.anonymization.rulesSha256.slice(0, 12)}, salt ${r.manifest.anonymization.saltFingerprint})` : 'not anonymized'
        return { summary: `exported "${name}" to ${r.path} (${r.format}, ${mb(r.bytes)}, ${anon})`, data: { path: r.path, format: r.format, bytes: r.bytes } }
      }
      if (action === 'scan') {
        const r = await scanSnapshot(store, name, { salt: ctx.loaded.values.get('ANONYMIZE_SALT')?.value, signal: ctx.signal })
        const lines = [
          ...Object.entries(r.patterns).flatMap(([col, hits]) => Object.entries(hits).map(([kind, n]) => `${col}: ${n} ${kind} pattern match${n === 1 ? '' : 'es'}`)),
          ...describeFindings(r.fingerprints),
        ]
        const fp = r.fingerprintsSkipped ? `patterns only (${r.fingerprintsSkipped})` : `patterns and ${r.fingerprintCount} fingerprints of the pull's personal values`
        if (r.findings) throw new LeakFindingsError(name, r.findings, lines)
        return { summary: `snapshot "${name}": the leak scan found nothing (${fp})`, data: r }
      }
      const m = await store.verify(name)
      return { summary: `snapshot "${name}" is intact (sha256 ${m.sha256.slice(0, 12)}, ${mb(m.compressedBytes)})` }
    }
    if (action !== 'list') throw new RotvError(`unknown action "${action}"`, { fix: 'use list, rm NAME, verify NAME, export NAME or scan NAME' })
    const all = await store.list()
    const maxAge = ctx.loaded.config.seed.maxAgeDays
    // Columns as wide as their widest cell: an age like "less than a minute" no longer shifts the rest.
    const rows = all.map((m) => {
      const age = ageOf(m)
      const biggest = Object.entries(m.tables).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([t, n]) => `${t.replace(/^public\./, '')} ${n.toLocaleString('en-US')}`)
      return [m.name, m.source.kind, `${age.text} old${age.days > maxAge ? ' (STALE)' : ''}`, `${mb(m.compressedBytes)} on disk`, `${m.totalRows.toLocaleString('en-US')} rows`, `(${biggest.join(', ')})${m.anonymized ? '  anonymized' : ''}${m.synthetic ? '  synthetic' : ''}`]
    })
    for (const line of alignColumns(rows, [3, 4])) io.log(line)
    const st = await scheduleStatus(ctx.loaded.config.dataHome)
    const scheduled = describeSchedule(st)
    if (scheduled && st.lastRun && !st.lastRun.ok) io.warn(scheduled)
    else if (scheduled) io.log(scheduled)
    return { summary: all.length ? `${all.length} snapshot${all.length > 1 ? 's' : ''}` : 'no snapshots yet (npx tsx Taskfile.ts seed)', data: all }
  },
})

/** Cells padded to their column's widest; the columns in `right` are right-aligned (sizes, counts). */
function alignColumns(rows: string[][], right: number[]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), [])
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  '))
}
