// `seed-fresh`: make sure a snapshot exists and say how old it is. Missing -> adopt the legacy dump or
// pull (from the demo generator when no source is configured); stale -> warn with the refresh command,
// or refresh when asked to.
import type { SourceSpec } from '../sources/types.ts'
import type { AnonymizeSettings } from '../anonymize/stream.ts'
import { describeError } from '../errors.ts'
import { seedCommand } from './errors.ts'
import { adoptLegacySeed } from './legacy.ts'
import type { SnapshotManifest } from './manifest.ts'
import type { Notice } from './notices.ts'
import { ageOf, isStale } from './staleness.ts'
import type { SnapshotStore } from './store.ts'
import type { ProgressCallback } from './stream-meters.ts'

export const DEFAULT_MAX_AGE_DAYS = 7
/** The snapshot name the original single-environment setup corresponds to. */
export const DEFAULT_SNAPSHOT_NAME = 'production'

export interface EnsureFreshOptions {
  store: SnapshotStore
  name: string
  /** Where to pull from; unset -> the demo generator. */
  source?: SourceSpec
  maxAgeDays?: number
  /** Pull again when stale instead of only warning. */
  refreshStale?: boolean
  /** Adopt <home>/seed-data.sql into this snapshot name when it is missing. Default DEFAULT_SNAPSHOT_NAME. */
  legacyName?: string
  onProgress?: ProgressCallback
  signal?: AbortSignal
  /** Anonymize what gets pulled (ANONYMIZE=true): see lib/anonymize. */
  anonymize?: AnonymizeSettings
}

export type EnsureFreshAction = 'kept' | 'pulled' | 'refreshed' | 'adopted-legacy' | 'stale'

export interface EnsureFreshResult {
  manifest: SnapshotManifest
  action: EnsureFreshAction
  notices: Notice[]
}

export async function ensureFresh(opts: EnsureFreshOptions): Promise<EnsureFreshResult> {
  const { store, name } = opts
  const maxAgeDays = opts.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS
  const notices: Notice[] = []
  let action: EnsureFreshAction = 'kept'

  let manifest = await store.get(name)
  if (!manifest && name === (opts.legacyName ?? DEFAULT_SNAPSHOT_NAME)) {
    const adopted = await adoptLegacySeed(store, name, opts.signal)
    notices.push(...adopted.notices)
    if (adopted.manifest) {
      manifest = await store.get(name)
      action = 'adopted-legacy'
    }
  }
  if (!manifest) {
    const source = sourceOrDemo(opts, notices, `snapshot "${name}" is missing`)
    manifest = await store.pull(source, { as: name, onProgress: opts.onProgress, signal: opts.signal, anonymize: opts.anonymize })
    notices.push({ level: 'info', message: `pulled snapshot "${name}" from ${manifest.source.description}: ${manifest.totalRows.toLocaleString('en-US')} rows` })
    return { manifest, action: 'pulled', notices }
  }

  if (isStale(manifest, maxAgeDays)) {
    const age = ageOf(manifest).text
    if (opts.refreshStale) {
      const source = sourceOrDemo(opts, notices, `snapshot "${name}" is ${age} old`)
      try {
        manifest = await store.pull(source, { as: name, onProgress: opts.onProgress, signal: opts.signal, anonymize: opts.anonymize })
        notices.push({ level: 'info', message: `refreshed snapshot "${name}" (was ${age} old): ${manifest.totalRows.toLocaleString('en-US')} rows` })
        return { manifest, action: 'refreshed', notices }
      } catch (err) {
        if (opts.signal?.aborted) throw err
        // The old snapshot is intact and still usable: keep working on it, loudly.
        notices.push({
          level: 'warn',
          message: `refreshing snapshot "${name}" failed, using the ${age} old one: ${describeError(err).message}`,
          command: seedCommand(name),
        })
        return { manifest, action: 'stale', notices }
      }
    }
    notices.push({
      level: 'warn',
      message: `snapshot "${name}" is ${age} old (older than ${maxAgeDays} days); refresh it with: ${seedCommand(name)}`,
      command: seedCommand(name),
    })
    return { manifest, action: 'stale', notices }
  }
  return { manifest, action, notices }
}

function sourceOrDemo(opts: EnsureFreshOptions, notices: Notice[], why: string): SourceSpec {
  if (opts.source) return opts.source
  notices.push({
    level: 'info',
    message: `${why} and no source is configured for "${opts.name}": using generated demo data (set e.g. PRODUCTION_HOST to pull real data)`,
  })
  return { name: opts.name, kind: 'demo' }
}
