// May this snapshot leave the machine? One answer for every way data leaves (`snapshots export`,
// `snapshots push`): fail closed. Synthetic data (the bundled demo) may; an anonymized snapshot may when
// every personal-looking column had a rule (a rule may say 'keep'); anything else only with the caller's
// named force flag, and then the caller prints the returned warning once.
import type { SnapshotManifest } from '../snapshots/manifest.ts'
import { SnapshotNotAnonymizedError, UnruledPersonalColumnsError } from './errors.ts'

export interface EgressOptions {
  /** The user passed the force flag. */
  force?: boolean
  /** How the force flag is spelled for this command, for the message (default --force). */
  forceFlag?: string
  /** What is being done, for the message: 'export', 'push'. */
  action?: string
}

export interface EgressVerdict {
  /** Why it may leave. */
  reason: 'synthetic' | 'anonymized' | 'forced'
  /** Set when forced over a refusal: what the caller must show the user, once. */
  warning?: string
}

export interface UnruledColumns {
  table: string
  columns: string[]
}

/** Throws SnapshotNotAnonymizedError or UnruledPersonalColumnsError unless the snapshot may leave. */
export function assertMayLeave(manifest: SnapshotManifest, opts: EgressOptions = {}): EgressVerdict {
  const flag = opts.forceFlag ?? '--force'
  const action = opts.action ?? 'export'
  if (manifest.synthetic === true) return { reason: 'synthetic' }
  if (!manifest.anonymized) {
    if (!opts.force) throw new SnapshotNotAnonymizedError(manifest.name, { flag, action })
    return { reason: 'forced', warning: `snapshot "${manifest.name}" is NOT anonymized: it holds personal data (${action} forced with ${flag})` }
  }
  const unruled = unruledColumns(manifest)
  if (unruled.length === 0) return { reason: 'anonymized' }
  if (!opts.force) throw new UnruledPersonalColumnsError(manifest.name, unruled, { flag, action })
  const n = unruled.reduce((s, u) => s + u.columns.length, 0)
  return { reason: 'forced', warning: `snapshot "${manifest.name}" has ${n} personal-looking column${n === 1 ? '' : 's'} no rule covers, copied unchanged (${action} forced with ${flag})` }
}

/** The personal-looking columns an anonymized pull copied unchanged for want of a rule. */
export function unruledColumns(manifest: SnapshotManifest): UnruledColumns[] {
  const a = manifest.anonymization
  if (!a) return []
  if (a.unruled) return a.unruled
  // Manifests written before `unruled` existed only have the warning text.
  const out: UnruledColumns[] = []
  for (const w of a.warnings) {
    const m = /^(.+?): columns? (.+) looks? personal but ha(?:s|ve) no rule/.exec(w)
    if (m) out.push({ table: m[1]!, columns: m[2]!.split(', ') })
  }
  return out
}
