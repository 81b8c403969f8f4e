// A throwaway PostgreSQL for building schemas to compare: initdb in memory, started on a free
// loopback port, stopped and removed by dispose() (call it in a finally: it runs on failure and on
// Ctrl-C, when the AbortSignal makes the work in between reject).
//
//   startScratchServer(opts): Promise<ScratchServer>
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  createDevDataDir,
  freeLoopbackPort,
  initCluster,
  PortInUseError,
  resolveBinaries,
  resolveServerUser,
  startServer,
  type PgBinaries,
  type RunningServer,
} from '../postgres/index.ts'

export interface ScratchServerOptions {
  /** PG_BIN_DIR; default the embedded PostgreSQL. */
  binDir?: string
  /** PG_RUN_AS (only used when root). */
  runAs?: string
  signal?: AbortSignal
}

export interface ScratchServer {
  server: RunningServer
  binaries: PgBinaries
  /** Where the cluster lives (removed by dispose). */
  dir: string
  /** Stops the server and removes its directory; safe to call more than once. */
  dispose(): Promise<void>
}

/** Attempts when the free port we picked is taken before the server binds it. */
const PORT_ATTEMPTS = 3

export async function startScratchServer(opts: ScratchServerOptions = {}): Promise<ScratchServer> {
  const binaries = await resolveBinaries({ binDir: opts.binDir, runAs: opts.runAs })
  const user = await resolveServerUser(opts.runAs)
  const dir = await createDevDataDir({ user })
  const remove = () => rm(dir.root, { recursive: true, force: true })
  try {
    await initCluster({ binaries, pgdata: dir.pgdata, runAs: opts.runAs, mode: 'dev', signal: opts.signal })
    let server: RunningServer | undefined
    for (let attempt = 1; !server; attempt++) {
      try {
        server = await startServer({
          binaries,
          pgdata: dir.pgdata,
          port: await freeLoopbackPort(),
          runAs: opts.runAs,
          logFile: join(dir.root, 'postgres.log'),
          signal: opts.signal,
        })
      } catch (err) {
        if (!(err instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw err
      }
    }
    const running = server
    let disposed: Promise<void> | undefined
    return {
      server: running,
      binaries,
      dir: dir.root,
      dispose: () => (disposed ??= running.stop('immediate').catch(() => {}).then(remove)),
    }
  } catch (err) {
    await remove()
    throw err
  }
}
