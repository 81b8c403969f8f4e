// The local side of a refresh: a throwaway PostgreSQL in memory holding the previous snapshot, started on
// a free loopback port (never PG_PORT: a running environment is left alone), from the warm cluster
// cache when `start --db-only` left one, else by importing the snapshot. Removed afterwards, whatever
// happens.
import { join } from 'node:path'
import { createDevDataDir, freeLoopbackPort, resolveBinaries, resolveServerUser } from '../postgres/index.ts'
import { discardDevData, prepareDatabase, type SnapshotHandle } from '../runtime/database.ts'
import { PSQL_SESSION_FLAGS, type SessionCommand } from './session.ts'

export interface LocalSettings {
  /** Data home: warm clusters are looked up in its clusters/, the server log goes to its logs/. */
  home: string
  pgBinDir?: string
  runAs?: string
  tmpfsLimitBytes?: number
}

export async function withPreviousCopy<T>(settings: LocalSettings, snapshot: SnapshotHandle, fn: (local: SessionCommand) => Promise<T>, opts: { signal?: AbortSignal; onProgress?: (m: string) => void } = {}): Promise<T> {
  const binaries = await resolveBinaries({ binDir: settings.pgBinDir, runAs: settings.runAs })
  const user = await resolveServerUser(settings.runAs)
  const dir = await createDevDataDir({ user })
  try {
    const db = await prepareDatabase({
      binaries, pgdata: dir.pgdata, mode: 'dev', port: await freeLoopbackPort(), runAs: settings.runAs,
      logFile: join(settings.home, 'logs', 'refresh-postgres.log'), dbName: 'previous', extraDatabases: [],
      snapshot, cacheDir: join(settings.home, 'clusters'), stageDir: join(dir.root, 'stage'),
      limitBytes: settings.tmpfsLimitBytes, signal: opts.signal, onProgress: opts.onProgress,
    })
    try {
      const c = db.server.connection('previous')
      return await fn({
        command: 'psql',
        args: [...PSQL_SESSION_FLAGS, '-h', String(c.host), '-p', String(c.port), '-U', String(c.user), '-d', 'previous'],
        description: `the local copy of snapshot "${snapshot.name}"`,
      })
    } finally {
      await db.server.stop('immediate').catch(() => {})
    }
  } finally {
    await discardDevData(dir.root)
  }
}
