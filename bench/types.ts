// The result model shared by the cases, the table and the JSON file.
import type { CaseId } from './args.ts'

/** One repetition of a case. */
export interface Sample {
  ms: number
  /** Peak RSS of the process doing the work (this runner, or psql for the baseline), bytes. */
  peakRssBytes?: number
  /** Bytes the database occupies in memory (du of its tmpfs data directory) after the case. */
  tmpfsBytes?: number
  /** Cold start: milliseconds per phase, from the runner's own progress messages. */
  phases?: Record<string, number>
}

export interface CaseResult {
  id: CaseId | `${CaseId}:${string}`
  label: string
  status: 'ok' | 'skipped' | 'failed'
  /** Why it was skipped or failed. */
  reason?: string
  samples: Sample[]
  minMs?: number
  medianMs?: number
  /** Baseline median / this median (higher is faster), same run. */
  speedupVsBaseline?: number
  peakRssBytes?: number
  tmpfsBytes?: number
  /** What the figure includes, in a few words. */
  note?: string
}

export interface SizeFigures {
  plainBytes: number
  atRestBytes: number
  atRestCompression: string
  gzip6Bytes: number
  gzip6Ms: number
  /** ssh seed pulls: at-rest size of what was pulled, and the plain size pg_dump produced. */
  sshPlainBytes?: number
  sshAtRestBytes?: number
}

export interface TargetCheck {
  target: string
  met: boolean | null
  figure: string
}

export interface MachineFacts {
  cpuModel: string
  cores: number
  ramBytes: number
  loadAverageAtStart: [number, number, number]
  loadAverageAtEnd?: [number, number, number]
  kernel: string
  os: string
  node: string
  postgres: { embeddedServer: string; psqlClient: string; productionServer?: string; pgDump?: string }
  podman?: string
}

export interface BenchReport {
  startedAt: string
  finishedAt: string
  command: string
  options: { size: string; sizeBytes: number; cases: string[]; repeat: number; seed: number }
  machine: MachineFacts
  dump: { path: string; bytes: number; generateMs: number; seed: number }
  cases: CaseResult[]
  sizes?: SizeFigures
  targets: TargetCheck[]
  /** Cold start: median milliseconds per phase over the repetitions. */
  coldStartProfile?: Record<string, number>
  /** Warm start: median milliseconds per phase. */
  warmStartProfile?: Record<string, number>
  /** Original method: median milliseconds per phase (initdb, start, psql -f). */
  baselineProfile?: Record<string, number>
  /** Container starts: median milliseconds per phase, from the supervisor's timestamped log, by case label. */
  containerProfiles?: Record<string, Record<string, number>>
  notes: string[]
}
