// What a user meets when start cannot succeed: each a clear error naming the fix, and nothing left
// running or half-written behind (no server, no in-memory directory, no run state, no stale lock).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { generateDemoDump } from '../lib/demo/generate.ts'
import { snapshotHandle } from '../lib/runtime/from-config.ts'
import { startHost, stopHost, type HostSettings } from '../lib/runtime/host.ts'
import { readState } from '../lib/runtime/state.ts'
import { openStore } from '../lib/snapshots/index.ts'
import { isolatedEnv, runCliSync } from './helpers/cli.ts'
import { freePort } from './helpers/production-postgres.ts'
import { appLaunch, migrationStep } from '../lib/project/launch.ts'
import reference from '../project.config.ts'

const repo = join(import.meta.dirname, '..')

async function settings(home: string, extra: Partial<HostSettings> = {}): Promise<HostSettings> {
  return {
    home,
    app: appLaunch(repo, reference),
    migrations: migrationStep(repo, reference, {}),
    pgPort: await freePort(),
    appPort: await freePort(),
    dbName: 'rotv',
    extraDatabases: ['rotv_test'],
    tmpfsLimitBytes: 2 * 1024 ** 3,
    appEnv: {},
    ...extra,
  }
}

/** Postmasters listening on `port` (their command line carries -p PORT); other tests run servers too. */
function postmasters(port: number): { pid: number; args: string[] }[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0')
        const ours = /postgres$/.test(args[0] ?? '') && args.includes('-p') && args[args.indexOf('-p') + 1] === String(port)
        return ours ? [{ pid: Number(d), args }] : []
      } catch {
        return []
      }
    })
}

function postgresPids(port: number): number[] {
  return postmasters(port).map((p) => p.pid)
}

function postgresDataDirs(port: number): string[] {
  return postmasters(port).map((p) => p.args[p.args.indexOf('-D') + 1]!)
}

t.test('Ctrl-C during the import stops the server, removes the in-memory data and leaves no state', async (t) => {
  const home = t.testdir()
  const store = openStore(home)
  // Big enough that the import is still running when the abort lands.
  await store.pull({ name: 'big', kind: 'demo', size: 60 * 1024 * 1024 }, { as: 'big' })
  const s = await settings(home)
  const controller = new AbortController()
  let scratch: string | undefined
  const started = startHost(s, {
    snapshot: await snapshotHandle(store, 'big'),
    signal: controller.signal,
    onProgress: (m) => {
      if (m.startsWith('importing big:') && !controller.signal.aborted) {
        // Our server's data directory, from its command line (other tests run servers in /dev/shm too).
        scratch = postgresDataDirs(s.pgPort)[0]
        controller.abort()
      }
    },
  })
  await t.rejects(started, { name: /Cancelled/ })
  t.ok(controller.signal.aborted, 'the import was under way when interrupted')
  t.same(postgresPids(s.pgPort), [], 'no postgres process left behind')
  t.equal(await readState(home), undefined, 'no run state left behind')
  t.ok(scratch?.startsWith('/dev/shm/'), `the import ran in memory: ${scratch}`)
  t.notOk(existsSync(scratch!), 'the in-memory data directory is gone')
  t.notOk(existsSync(join(home, 'snapshots', 'big', '.pull.lock')), 'no stale lock')
  // and the next start works
  const next = await startHost(s, { snapshot: await snapshotHandle(store, 'big') })
  t.equal(next.health?.counts?.pois, 371)
  t.equal(postgresPids(s.pgPort).length, 1, 'the check can see a running server')
  await stopHost(home)
})

t.test('a snapshot that will not fit in TMPFS_SIZE stops before any work, naming the setting', async (t) => {
  const home = t.testdir()
  const store = openStore(home)
  await store.pull({ name: 'demo', kind: 'demo' }, { as: 'demo' })
  const s = await settings(home, { tmpfsLimitBytes: 1024 * 1024 })
  await t.rejects(startHost(s, { snapshot: await snapshotHandle(store, 'demo') }), { name: 'InsufficientSpaceError', message: /TMPFS_SIZE/ })
  t.equal(await readState(home), undefined)
})

t.test('a dump from a newer PostgreSQL than the local server is refused with the fix', async (t) => {
  const home = t.testdir()
  const chunks: Buffer[] = []
  for await (const c of generateDemoDump({})) chunks.push(c as Buffer)
  const dump = Buffer.concat(chunks).toString('utf8').replace(/-- Dumped from database version [\d.]+/, '-- Dumped from database version 18.1')
  const file = join(home, 'newer.sql')
  writeFileSync(file, dump)
  const env = isolatedEnv({ ROTV_HOME: home, APP_PORT: String(await freePort()), PG_PORT: String(await freePort()) })
  const envFile = join(home, 'x.env')
  writeFileSync(envFile, '')
  const seed = runCliSync(['seed', '--from-file', file, '--as', 'newer', '--dotenv', envFile], env)
  t.equal(seed.code, 0, seed.all)
  const start = runCliSync(['start', 'newer', '--dotenv', envFile], env)
  t.equal(start.code, 1)
  t.match(start.stdout, /made by PostgreSQL 18\.1, newer than the local PostgreSQL 17/)
  t.match(start.stdout, /PG_BIN_DIR/)
})

t.test('a corrupted snapshot file is detected before the import starts', async (t) => {
  const home = t.testdir()
  const store = openStore(home)
  const m = await store.pull({ name: 'demo', kind: 'demo' }, { as: 'demo' })
  const path = join(store.pathOf('demo'), m.dataFile)
  const bytes = readFileSync(path)
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff
  writeFileSync(path, bytes)
  await t.rejects(snapshotHandle(store, 'demo'), { name: 'CorruptSnapshotError' })
})
