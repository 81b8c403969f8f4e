// Pulls through real processes: system ssh to a loopback sshd running Debian's pg_dump against the
// PostgreSQL 15 fixture (`ssh` and `ssh+podman` kinds), and a local pg_dump against a URL (`url` kind).
// Every failure must leave the previous snapshot byte-for-byte intact and no process behind.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { startProductionPostgres, freePort, type TestPostgres } from './helpers/production-postgres.ts'
import { startSshd, type TestSshd } from './helpers/sshd.ts'
import { openStore, type PullProgress, type SnapshotStore } from '../lib/snapshots/index.ts'
import {
  ContainerEngineUnavailableError,
  ContainerNotFoundError,
  DatabaseNotFoundError,
  RemoteCommandMissingError,
  RemoteKilledError,
  SshAuthError,
  SshConnectionLostError,
  SshConnectionRefusedError,
  SshHostKeyError,
  type SourceSpec,
} from '../lib/sources/index.ts'
import { CancelledError, RotvError } from '../lib/errors.ts'
import { loadConfig } from '../lib/config/load.ts'
import { sourceSpec } from '../lib/runtime/from-config.ts'
import { caught, dirFingerprint } from './helpers/snapshot-checks.ts'

let pg: TestPostgres
let sshd: TestSshd
let work: string

t.before(async () => {
  ;[pg, sshd] = await Promise.all([startProductionPostgres({ databases: ['rotv', 'big'] }), startSshd()])
  work = await mkdtemp(join(tmpdir(), 'rotv-pull-'))
  await pg.psql('rotv', ['-c', `
    CREATE TABLE pois (id serial PRIMARY KEY, name text NOT NULL, notes text);
    CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE);
    INSERT INTO pois (name, notes) SELECT 'poi ' || g, CASE WHEN g % 4 = 0 THEN E'it''s "quoted"\\n\\\\. and tabbed\\t' END FROM generate_series(1, 20000) g;
    INSERT INTO users (email) SELECT 'u' || g || '@example.org' FROM generate_series(1, 777) g;
  `])
  // Big enough that pg_dump is still writing when the first bytes arrive here.
  await pg.psql('big', ['-c', `CREATE TABLE logs AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) AS line FROM generate_series(1, 250000) g`])
})

t.teardown(async () => {
  await sshd?.stop()
  await pg?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

const sshSpec = (over: Partial<SourceSpec> = {}): SourceSpec => ({
  name: 'production',
  kind: 'ssh',
  host: '127.0.0.1',
  sshConfigFile: sshd.configFile,
  database: 'rotv',
  dbUser: 'postgres',
  dbHost: '127.0.0.1',
  dbPort: pg.port,
  connectTimeoutSeconds: 5,
  ...over,
})

async function dbCounts(db: string, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of tables) out[`public.${table}`] = Number((await pg.psql(db, ['-At', '-c', `SELECT count(*) FROM ${table}`])).stdout.trim())
  return out
}


interface Proc { pid: number; argv: string[]; environ: string }

async function processes(): Promise<Proc[]> {
  const out: Proc[] = []
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue
    const argv = await readFile(`/proc/${d}/cmdline`, 'utf8').then((s) => s.split('\0').filter(Boolean), () => [])
    if (argv.length === 0) continue
    const environ = await readFile(`/proc/${d}/environ`, 'utf8').catch(() => '')
    out.push({ pid: Number(d), argv, environ })
  }
  return out
}

/** pg_dump processes dumping from the fixture (found by its unique port), remote or local. */
async function fixturePgDumps(): Promise<Proc[]> {
  return (await processes()).filter((p) => basename(p.argv[0]!) === 'pg_dump' && p.argv.some((a) => a.includes(String(pg.port))))
}

function ppidOf(pid: number): number {
  try {
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return -1
  }
}

async function sshClients(): Promise<Proc[]> {
  return (await processes()).filter((p) => basename(p.argv[0]!) === 'ssh' && p.argv.includes(sshd.configFile))
}

async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return check()
}


t.test('ssh: pg_dump on the remote host, gzip on the wire, verified snapshot with the right manifest', async (t) => {
  const store = openStore(join(work, 'ssh-ok'))
  let last: PullProgress | undefined
  const m = await store.pull(sshSpec(), { onProgress: (p) => (last = p) })
  t.same(m.tables, await dbCounts('rotv', ['pois', 'users']), 'row counts match the database')
  t.equal(m.totalRows, 20777)
  const serverVersion = (await pg.psql('rotv', ['-At', '-c', 'SHOW server_version'])).stdout.trim()
  t.equal(m.serverVersion, serverVersion)
  t.match(m.pgDumpVersion, /^15\.\d+/)
  t.same(m.source, { kind: 'ssh', host: '127.0.0.1', database: 'rotv', description: m.source.description })
  t.ok(last?.done, 'final progress reported')
  t.ok(last!.bytes < last!.dumpBytes / 2, `the wire carried ${last!.bytes} bytes for a ${last!.dumpBytes} byte dump`)
  t.equal(last!.dumpBytes, m.uncompressedBytes)
  t.same((await store.list()).map((s) => s.name), ['production'])
  t.equal((await store.verify('production')).sha256, m.sha256)

  // Without remote gzip (ssh -C instead) the stored snapshot is the same bytes... except pg_dump's random
  // \restrict key, so compare what matters.
  const plain = await store.pull(sshSpec({ compressOnWire: false }), { as: 'production-plain', onProgress: (p) => (last = p) })
  t.same(plain.tables, m.tables)
  t.equal(last!.bytes, last!.dumpBytes, 'the stream arrived uncompressed (ssh -C compresses below it)')
  t.same(await sshClients(), [], 'no ssh client left')
})

t.test('an ssh_config alias: its own Port applies when PRODUCTION_PORT and PRODUCTION_USER are unset', async (t) => {
  // The alias names the sshd's port; a "-p 22" passed regardless (the old default) is refused on loopback.
  const aliasConfig = join(work, 'alias_ssh_config')
  await writeFile(aliasConfig, `Host prod-alias\n  HostName 127.0.0.1\n${await readFile(sshd.configFile, 'utf8')}`)
  const { config } = loadConfig({ root: work, env: { PRODUCTION_HOST: 'prod-alias', SEED_SOURCE: 'ssh' } })
  const spec = sourceSpec(config, 'production')
  t.equal(spec.port, undefined, 'no port unless PRODUCTION_PORT is set')
  t.equal(spec.user, undefined, 'no user unless PRODUCTION_USER is set')
  const store = openStore(join(work, 'alias-home'))
  const m = await store.pull({ ...spec, sshConfigFile: aliasConfig, dbUser: 'postgres', dbHost: '127.0.0.1', dbPort: pg.port, connectTimeoutSeconds: 5 }, { as: 'alias' })
  t.equal(m.source.host, 'prod-alias')
  t.ok(m.totalRows > 0, `pulled ${m.totalRows} rows through the alias`)
})

t.test('url: a local pg_dump, the password only in its environment', async (t) => {
  const store = openStore(join(work, 'url-ok'))
  const secret = 'S3cret-Pa55-zq9'
  // The big database, so pg_dump is still running while the process table is inspected.
  const url = `postgres://postgres:${secret}@127.0.0.1:${pg.port}/big`
  let seen: Proc[] | undefined
  const everywhere: Proc[] = []
  // The process table is read over and over while the pull runs, until pg_dump is caught: reading it from
  // the first progress report missed pg_dump once in CI (since zstd, the store keeps up and pg_dump ends sooner).
  let pulling = true
  const watcher = (async () => {
    while (pulling && !seen?.length) {
      const all = await processes()
      seen = all.filter((p) => basename(p.argv[0]!) === 'pg_dump' && p.argv.some((a) => a.includes(String(pg.port))))
      everywhere.push(...all.filter((p) => p.argv.some((a) => a.includes(secret))))
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  const m = await store.pull({ name: 'staging', kind: 'url', url }).finally(() => (pulling = false))
  await watcher
  t.same(m.tables, await dbCounts('big', ['logs']))
  t.equal(m.source.kind, 'url')
  t.equal(m.source.host, '127.0.0.1')
  t.notMatch(JSON.stringify(m), secret, 'manifest has no password')
  t.ok(seen && seen.length > 0, 'caught the running pg_dump')
  t.same(everywhere.map((p) => p.argv.join(' ')), [], 'no process has the password on its command line')
  t.ok(seen!.every((p) => p.environ.includes(`PGPASSWORD=${secret}`)), 'pg_dump got it through PGPASSWORD')

  const err = await caught(store.pull({ name: 'staging', kind: 'url', url: url.replace('/big', '/nosuchdb') }))
  t.type(err, DatabaseNotFoundError)
  t.match(err.message, /database "nosuchdb" does not exist/)
  t.notMatch(err.message, secret, 'error message has no password')
})

t.test('failures keep the previous snapshot byte-for-byte and say what to do', async (t) => {
  const store = openStore(join(work, 'ssh-fail'))
  await store.pull(sshSpec())
  const dir = store.pathOf('production')
  const before = await dirFingerprint(dir)
  const expectIntact = async (label: string) => {
    t.same(await dirFingerprint(dir), before, `${label}: previous snapshot intact, no temp file`)
    t.same(await sshClients(), [], `${label}: no ssh client left`)
  }

  const refused = await caught(store.pull(sshSpec({ port: await freePort() })))
  t.type(refused, SshConnectionRefusedError)
  t.match(refused.message, /Connection refused/)
  t.match((refused as RotvError).fix, /host and port/)
  await expectIntact('connection refused')

  const auth = await caught(store.pull(sshSpec({ sshConfigFile: sshd.wrongKeyConfigFile })))
  t.type(auth, SshAuthError)
  t.match(auth.message, /Permission denied \(publickey\)/)
  t.match((auth as RotvError).fix, /ssh-add/)
  await expectIntact('auth refused')

  const hostKey = await caught(store.pull(sshSpec({ sshConfigFile: sshd.unknownHostConfigFile })))
  t.type(hostKey, SshHostKeyError)
  t.match(hostKey.message, /Host key verification failed/)
  t.match((hostKey as RotvError).fix, /connect once by hand.*known_hosts/)
  t.match((hostKey as RotvError).fix, /ssh -F \S+ 127\.0\.0\.1 true/)
  await expectIntact('unknown host key')

  const noDb = await caught(store.pull(sshSpec({ database: 'nosuchdb' })))
  t.type(noDb, DatabaseNotFoundError)
  t.match(noDb.message, /database "nosuchdb" does not exist/)
  await expectIntact('wrong database (gzip pipeline: pipefail must surface pg_dump\'s failure)')

  const noDbPlain = await caught(store.pull(sshSpec({ database: 'nosuchdb', compressOnWire: false })))
  t.type(noDbPlain, DatabaseNotFoundError)
  await expectIntact('wrong database (plain)')

  // The "remote" is this machine: with podman installed the container is missing, without it podman is.
  const hasPodman = await promisify(execFile)('sh', ['-c', 'command -v podman']).then(() => true, () => false)
  const podman = await caught(store.pull(sshSpec({ kind: 'ssh+podman', container: 'rotv-no-such-container', engine: 'podman' })))
  t.type(podman, hasPodman ? ContainerNotFoundError : RemoteCommandMissingError, podman.message)
  t.match(podman.message, hasPodman ? /rotv-no-such-container/ : /podman/)
  await expectIntact(`ssh+podman (${hasPodman ? 'no such container' : 'no podman on the remote'})`)

  const noDaemon = await caught(store.pull(sshSpec({ kind: 'ssh+podman', container: 'rotv-db', engine: 'docker' })))
  t.type(noDaemon, ContainerEngineUnavailableError, noDaemon.message)
  t.match(noDaemon.message, /docker/i)
  await expectIntact('ssh+podman with a docker client and no engine')
})

t.test('a remote pg_dump killed half-way: typed error, previous snapshot intact', async (t) => {
  const store = openStore(join(work, 'ssh-killed'))
  await store.pull(sshSpec())
  const dir = store.pathOf('production')
  const before = await dirFingerprint(dir)
  let killed: number[] = []
  let atBytes = 0
  const err = await caught(store.pull(sshSpec({ database: 'big' }), {
    onProgress: async (p) => {
      if (killed.length || p.done) return
      killed = [-1]
      atBytes = p.dumpBytes
      const victims = await fixturePgDumps()
      killed = victims.map((v) => v.pid)
      for (const pid of killed) process.kill(pid, 'SIGKILL')
    },
  }))
  t.ok(killed.length > 0 && killed[0]! > 0, `killed remote pg_dump ${killed.join(',')} after ${atBytes} dump bytes`)
  t.type(err, RemoteKilledError, err.message)
  t.match((err as RotvError).fix, /run the seed again/)
  t.same(await dirFingerprint(dir), before, 'previous snapshot intact, no temp file')
  t.same(await sshClients(), [], 'no ssh client left')
})

t.test('the connection dropping half-way (sshd\'s session process killed): typed error, previous intact', async (t) => {
  const store = openStore(join(work, 'ssh-dropped'))
  await store.pull(sshSpec())
  const dir = store.pathOf('production')
  const before = await dirFingerprint(dir)
  let killed: number[] = []
  const err = await caught(store.pull(sshSpec({ database: 'big' }), {
    onProgress: async (p) => {
      if (killed.length || p.done) return
      killed = [-1]
      const sessions = (await processes()).filter((x) => ppidOf(x.pid) === sshd.pid)
      killed = sessions.map((x) => x.pid)
      for (const pid of killed) process.kill(pid, 'SIGKILL')
    },
  }))
  t.ok(killed.length > 0 && killed[0]! > 0, `killed sshd session process ${killed.join(',')}`)
  t.type(err, SshConnectionLostError, err.message)
  // ssh does not always get to print why before it exits 255
  t.match(err.message, /connection dropped|closed by remote host|Connection reset|Broken pipe/)
  t.same(await dirFingerprint(dir), before, 'previous snapshot intact, no temp file')
  t.same(await sshClients(), [], 'no ssh client left')
  t.ok(await eventually(async () => (await fixturePgDumps()).length === 0), 'the orphaned remote pg_dump ended too')
})

t.test('Ctrl-C (AbortSignal) mid-pull: cancelled, previous intact, temp removed, no ssh or pg_dump left', async (t) => {
  const store: SnapshotStore = openStore(join(work, 'ssh-abort'))
  await store.pull(sshSpec())
  const dir = store.pathOf('production')
  const before = await dirFingerprint(dir)
  const ac = new AbortController()
  let sawTemp = false
  const err = await caught(store.pull(sshSpec({ database: 'big' }), {
    signal: ac.signal,
    onProgress: (p) => {
      if (p.done || ac.signal.aborted) return
      void readdir(dir).then((files) => (sawTemp ||= files.some((f) => f.endsWith('.tmp'))))
      setTimeout(() => ac.abort(), 50)
    },
  }))
  t.type(err, CancelledError)
  t.match(err.message, /previous snapshot was kept/)
  t.ok(sawTemp, 'a temp file existed during the pull')
  t.same(await dirFingerprint(dir), before, 'previous snapshot intact, temp removed')
  t.same(await sshClients(), [], 'no ssh client left')
  t.ok(await eventually(async () => (await fixturePgDumps()).length === 0), 'the remote pg_dump ended too')
})
