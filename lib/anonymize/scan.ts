// `snapshots scan NAME`: the leak scan on any stored snapshot. Every text column of every table is read
// for the free-text patterns (e-mail, phone, IP, URL credentials, tokens; the fakes anonymization writes
// do not count) and, when the snapshot was pulled anonymized and ANONYMIZE_SALT is the one it was pulled
// with, for the fingerprints of that pull's personal values. Reports table, column, kind and count only.
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { SnapshotStore } from '../snapshots/store.ts'
import type { DetectionCounts } from './detectors.ts'
import { readFingerprints } from './fingerprints.ts'
import { LeakIndex, type LeakFinding } from './leak-scan.ts'
import { normalizeRules } from './rules.ts'
import { AnonymizeStream, MIN_SALT_LENGTH } from './stream.ts'
import { keyed, saltFingerprint } from './transforms.ts'

export interface ScanOptions {
  /** ANONYMIZE_SALT: needed to compare against the pull's fingerprints. */
  salt?: string
  signal?: AbortSignal
}

export interface ScanReport {
  name: string
  /** Free-text pattern matches per schema.table.column. */
  patterns: Record<string, DetectionCounts>
  /** Fingerprint matches (personal values of the pull found in the data). */
  fingerprints: LeakFinding[]
  /** Why the fingerprint part did not run, when it did not. */
  fingerprintsSkipped?: string
  /** Personal values fingerprinted at the pull. */
  fingerprintCount: number
  findings: number
}

export async function scanSnapshot(store: SnapshotStore, name: string, opts: ScanOptions = {}): Promise<ScanReport> {
  const opened = await store.openForImport(name)
  const m = opened.manifest
  let index: LeakIndex | undefined
  let skipped: string | undefined
  const salt = opts.salt && opts.salt.length >= MIN_SALT_LENGTH ? opts.salt : undefined
  if (!m.anonymized) skipped = 'the snapshot was not pulled anonymized, so it has no fingerprints'
  else if (!salt) skipped = 'ANONYMIZE_SALT is not set: fingerprints cannot be compared without it'
  else if (m.anonymization?.saltFingerprint !== saltFingerprint(salt)) skipped = 'ANONYMIZE_SALT is not the salt this snapshot was pulled with'
  else {
    const got = await readFingerprints(store.pathOf(name), m.sha256, keyed(salt))
    if (got) index = got.index
    else skipped = 'the snapshot was pulled before the leak scan kept fingerprints'
  }
  // Outputs are discarded: a random salt serves the fakes when there is none.
  const runSalt = salt ?? randomBytes(24).toString('hex')
  const rules = normalizeRules({ tables: {}, devPassword: 'unused', passwordHash: () => '' })
  const stream = new AnonymizeStream({ rules, salt: runSalt }, { rescan: index ?? new LeakIndex(keyed(runSalt)), detect: true })
  try {
    await pipeline(opened.stream, stream, new Writable({ write: (_c, _e, cb) => cb() }), { signal: opts.signal })
  } finally {
    await opened.close()
  }
  const r = stream.result()
  const patterns = r.freeText ?? {}
  const fingerprints = index ? stream.leakIndex()!.result() : []
  const findings = Object.values(patterns).reduce((n, c) => n + Object.values(c).reduce((a, b) => a + (b ?? 0), 0), 0) + fingerprints.reduce((n, f) => n + f.count, 0)
  return { name, patterns, fingerprints, fingerprintsSkipped: skipped, fingerprintCount: index?.size ?? 0, findings }
}
