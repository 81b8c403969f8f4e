// What the benchmark asks a worker process to do, and what it answers.
import type { HostSettings } from '../lib/runtime/host.ts'
import type { SnapshotManifest } from '../lib/snapshots/index.ts'
import type { SourceSpec } from '../lib/sources/types.ts'

export const RESULT_PREFIX = 'BENCH-RESULT '

export type WorkerJob =
  | { kind: 'host-start'; settings: HostSettings; storeHome: string; snapshotName: string }
  | { kind: 'host-reset'; home: string }
  | { kind: 'seed-pull'; home: string; spec: SourceSpec }

export interface WorkerResult {
  ms: number
  /** getrusage maxRSS of the worker process, bytes. */
  maxRssBytes: number
  phases?: Record<string, number>
  prepared?: string
  /** reset: 'spare' (swapped in) or 'copy' (no spare copy was ready). */
  via?: string
  scratchDir?: string
  manifest?: SnapshotManifest
}
