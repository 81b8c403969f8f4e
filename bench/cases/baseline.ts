// Case 1, the original method (run.sh): initdb on /dev/shm, start PostgreSQL with default settings,
// CREATE DATABASE, then `psql -f` of the plain dump. Same server binaries as the runner (the embedded
// PostgreSQL 17), Debian's psql 15 client; as root the server runs as the `postgres` user.
import { spawn } from 'node:child_process'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { resolveBinaries, resolveServerUser, type PgBinaries, type ServerUser } from '../../lib/postgres/index.ts'
import { runCommand, serverEnv } from '../../lib/postgres/run-as.ts'
import { freePort } from '../../test/helpers/production-postgres.ts'
import type { Cleanup } from '../cleanup.ts'
import { diskUsageBytes } from '../du.ts'
import { watchPeakRss } from '../rss.ts'
import type { Sample } from '../types.ts'

export interface BaselineContext {
  binaries: PgBinaries
  user: ServerUser | undefined
}

export async function baselineContext(): Promise<BaselineContext> {
  return { binaries: await resolveBinaries(), user: await resolveServerUser() }
}

/** One repetition: the timer covers initdb, start, CREATE DATABASE and psql -f; the teardown does not. */
export async function runBaseline(ctx: BaselineContext, dumpPath: string, cleanup: Cleanup): Promise<Sample> {
  const { binaries, user } = ctx
  const dir = await mkdtemp('/dev/shm/rotv-bench-baseline-')
  const pgdata = join(dir, 'data')
  const port = await freePort()
  let serverStarted = false
  const undo = cleanup.add(`baseline server in ${dir}`, async () => {
    if (serverStarted) await runCommand(binaries.pgCtl, ['-D', pgdata, '-m', 'immediate', '-w', 'stop'], { user }).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  try {
    if (user) await chown(dir, user.uid, user.gid)
    const phases: Record<string, number> = {}
    const started = performance.now()
    let mark = started
    const lap = (name: string) => {
      const now = performance.now()
      phases[name] = now - mark
      mark = now
    }
    await runCommand(binaries.initdb, ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8'], { user, signal: cleanup.signal })
    lap('initdb')
    serverStarted = true
    await runCommand(binaries.pgCtl, [
      '-D', pgdata, '-l', join(dir, 'server.log'), '-w', '-t', '120',
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start',
    ], { user, signal: cleanup.signal })
    lap('start PostgreSQL')
    const conn = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres']
    await psql([...conn, '-d', 'postgres', '-c', 'CREATE DATABASE rotv'], cleanup.signal)
    const load = await psql([...conn, '-d', 'rotv', '-f', dumpPath], cleanup.signal)
    lap('psql -f')
    const ms = performance.now() - started
    return { ms, peakRssBytes: load.peakRssBytes, tmpfsBytes: await diskUsageBytes(pgdata), phases }
  } finally {
    await undo()
  }
}

/** Debian's psql, with the developer's PG* variables removed; resolves with psql's own peak RSS. */
function psql(args: string[], signal: AbortSignal): Promise<{ peakRssBytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', args, { env: serverEnv(), stdio: ['ignore', 'ignore', 'pipe'], signal })
    const rss = watchPeakRss(child.pid!)
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)))
    child.once('error', (err) => {
      rss.stop()
      reject(err)
    })
    child.once('close', (code) => {
      const peakRssBytes = rss.stop()
      if (code === 0) resolve({ peakRssBytes })
      else reject(new Error(`psql ${args.slice(-2).join(' ')} exited with ${code}: ${stderr.trim()}`))
    })
  })
}
