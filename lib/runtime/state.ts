// What a running environment looks like on disk, so `stop`, `status`, `reset` and `logs` (later
// processes) find what `start` left running. Written atomically; a reader never sees half a file.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

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
  logs: { postgres: string; app: string }
  /** How the database was prepared: imported from the snapshot, copied from the warm cache, or kept. */
  prepared: 'imported' | 'warm' | 'kept'
}

export function statePath(home: string): string {
  return join(home, 'run', 'host.json')
}

export async function readState(home: string): Promise<RunState | undefined> {
  try {
    return JSON.parse(await readFile(statePath(home), 'utf8')) as RunState
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    // A state file we cannot read is treated as absent; stop still finds servers by their pid files.
    return undefined
  }
}

export async function writeState(home: string, state: RunState): Promise<void> {
  const path = statePath(home)
  await mkdir(join(home, 'run'), { recursive: true, mode: 0o700 })
  await writeFile(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  await rename(`${path}.tmp`, path)
}

export async function clearState(home: string): Promise<void> {
  await rm(statePath(home), { force: true })
}
