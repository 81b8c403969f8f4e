// The leak scan's part of a pull's report: findings as table, column, kind and count, never a value.
import type { LeakFinding } from './leak-scan.ts'
import type { AnonymizationRecord } from './stream.ts'

/** The record with the second pass's findings added (they were masked too). */
export function mergeRescan(record: AnonymizationRecord, more: readonly LeakFinding[]): AnonymizationRecord {
  if (!record.leakScan) return record
  const all = new Map<string, LeakFinding>()
  for (const f of [...record.leakScan.findings, ...more]) {
    const key = `${f.table}\0${f.column}\0${f.source}`
    const have = all.get(key)
    if (have) have.count += f.count
    else all.set(key, { ...f })
  }
  return { ...record, leakScan: { ...record.leakScan, rescanned: true, findings: [...all.values()] } }
}

/** One line per finding, for `seed` and `snapshots scan`. */
export function describeFindings(findings: readonly LeakFinding[]): string[] {
  return findings.map((f) => `${f.table}.${f.column}: ${f.count} ${f.kind}${f.count === 1 ? '' : 's'} of ${f.source}`)
}
