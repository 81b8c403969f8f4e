// What a running environment looks like on disk, so `stop`, `status`, `reset` and `logs` (later
// processes) find what `start` left running. Written atomically; a reader never sees half a file.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Readiness, ReadyLine } from '../project/define.ts'

export interface RunState {
  runtime: 'host'
  startedAt: string
  mode: 'dev' | 'persistent'
  pgdata: string
  /** In dev mode: the in-memory directory to remove on stop. */
  scratchDir?: string
  pgPort: number
  appPort: number
  appPid?: number
  dbName: string
  pristineDb?: string
  runAs?: string
  pgBinDir: string
  pgVersion: string
  snapshot?: { name: string; sha256: string; createdAt?: string }
  logs: { postgres: string; app: string; warmSave?: string; spare?: string }
  /** A cold start's background save of the warm cluster (stop waits for it). */
  warmSave?: { pid: number }
  /** How the database was prepared: imported from the snapshot, copied from the warm cache, or kept. */
  prepared: 'imported' | 'warm' | 'kept'
  /** Dev mode: the in-memory limit (TMPFS_SIZE), which the spare copy for reset stays within. */
  limitBytes?: number
  /** Started with --db-only (or a project without an app): PostgreSQL alone, no app. */
  dbOnly?: boolean
  /** The project's readiness check and ready line, for `status`. */
  readiness?: Readiness
  readyLine?: ReadyLine
  appCwd?: string
}

export function statePath(home: string): string {
  return join(home, 'run', 'host.json')
}

export async function readState(home: string): Promise<RunState | undefined> {
  return readRunFile<RunState>(statePath(home))
}

export async function writeState(home: string, state: RunState): Promise<void> {
  await writeRunFile(statePath(home), state)
}

export async function clearState(home: string): Promise<void> {
  await rm(statePath(home), { force: true })
}

/**
 * A run-state file, or undefined when it is missing or unreadable (stop still finds servers by their
 * pid files). Shared by both runtimes' state files.
 */
export async function readRunFile<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

/** Written to a temp file and renamed, so a reader never sees half of it; private to the user (0600). */
export async function writeRunFile(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 })
  await rename(`${path}.tmp`, path)
}
