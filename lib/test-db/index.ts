// Production data for an app's own tests, from code (importable as `rotv-dev/test-db`): each test worker
// gets its own database, a copy of the pristine snapshot taken ready from a pool, and gives it back;
// `reset()` puts the dev database back to the snapshot without a CLI process. Both work on the
// environment `npx tsx Taskfile.ts start` left running on this machine (host runtime, dev mode).
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { RotvError } from '../errors.ts'
import { serverConnection } from '../postgres/index.ts'
import { resetHost } from '../runtime/host.ts'
import { readState } from '../runtime/state.ts'
import { serverStatus } from '../postgres/status.ts'
import { TestDatabasePool } from './pool.ts'

export { TestDatabasePool, type LeasedDatabase, type PoolEntry, type PoolServer } from './pool.ts'

export interface TestDatabaseOptions {
  /** The data home of the running environment (default: ROTV_HOME, else ~/.rotv). */
  home?: string
  /** How many ready copies the pool keeps (default 2). Each is a full copy of the database in memory. */
  size?: number
}

/** No environment runs that a pool could use. */
export class NoTestEnvironmentError extends RotvError {}

/** The pool of the running environment. Nothing is copied until acquire() or fill(). */
export async function openTestDatabases(opts: TestDatabaseOptions = {}): Promise<TestDatabasePool> {
  const state = await runningDevState(opts.home)
  return new TestDatabasePool(
    { connection: serverConnection({ port: state.pgPort }), dbName: state.dbName, template: state.pristineDb!, limitBytes: state.limitBytes },
    opts.size ?? 2,
  )
}

/** Puts the dev database back to the snapshot (what `npx tsx Taskfile.ts reset` does), from code. */
export async function reset(opts: Pick<TestDatabaseOptions, 'home'> = {}): Promise<{ durationMs: number; dbName: string; via: 'spare' | 'copy' }> {
  return resetHost(dataHome(opts.home))
}

// Helpers

function dataHome(home?: string): string {
  const h = home ?? process.env.ROTV_HOME ?? '~/.rotv'
  return h.startsWith('~/') ? join(homedir(), h.slice(2)) : resolve(h)
}

async function runningDevState(home?: string) {
  const state = await readState(dataHome(home))
  if (!state || !(await serverStatus(state.pgdata)).running) {
    throw new NoTestEnvironmentError(`no environment is running in ${dataHome(home)}`, { fix: 'run `npx tsx Taskfile.ts start` (or `start --db-only`) first, with the same ROTV_HOME' })
  }
  if (state.mode !== 'dev' || !state.pristineDb) {
    throw new NoTestEnvironmentError('test databases are copies of the pristine snapshot, which a persistent environment (PERSISTENT_DATA=true) does not keep', { fix: 'run the tests against a dev environment (PERSISTENT_DATA=false)' })
  }
  return state
}
