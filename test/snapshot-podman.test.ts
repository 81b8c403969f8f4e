// The original setup's source, `ssh+podman`, end to end: system ssh to the loopback sshd, `podman exec`
// into a real running container, pg_dump inside it, gzip on the wire. The container is a minimal one
// built from this machine's own /usr (read-only) on the host network, so it holds Debian's pg_dump 15
// and reaches the PostgreSQL 15 fixture on 127.0.0.1 without any image download.
// Needs podman and runc (apt-get install podman runc).
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startProductionPostgres, type TestPostgres } from './helpers/production-postgres.ts'
import { startSshd, type TestSshd } from './helpers/sshd.ts'
import { openStore } from '../lib/snapshots/index.ts'
import { ContainerNotFoundError, type SourceSpec } from '../lib/sources/index.ts'

const run = promisify(execFile)

let pg: TestPostgres
let sshd: TestSshd
let work: string
const container = `rotv-snaptest-${process.pid}`

t.before(async () => {
  await run('sh', ['-c', 'command -v podman && command -v runc']).catch(() => {
    throw new Error('podman and runc are needed for the ssh+podman test: apt-get install podman runc')
  })
  ;[pg, sshd] = await Promise.all([startProductionPostgres({ databases: ['rotv'] }), startSshd()])
  work = await mkdtemp(join(tmpdir(), 'rotv-podman-'))
  await pg.psql('rotv', ['-c', `
    CREATE TABLE pois (id serial PRIMARY KEY, name text);
    CREATE TABLE news (id serial PRIMARY KEY, poi_id int, title text);
    INSERT INTO pois (name) SELECT 'poi ' || g FROM generate_series(1, 3210) g;
    INSERT INTO news (poi_id, title) SELECT g % 3210 + 1, 'news ' || g FROM generate_series(1, 4321) g;
  `])
  const rootfs = join(work, 'rootfs')
  for (const d of ['usr', 'etc', 'tmp', 'proc', 'sys', 'dev', 'run']) await mkdir(join(rootfs, d), { recursive: true })
  for (const d of ['bin', 'lib', 'lib64', 'sbin']) await symlink(`usr/${d}`, join(rootfs, d))
  // runc and explicit ulimits: crun and the default ulimits fail on these hosts (see DESIGN.md).
  await run('podman', ['run', '-d', '--name', container, '--network=host', '--runtime', 'runc',
    '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096',
    '-v', '/usr:/usr:ro', '-v', '/etc:/etc:ro', '--rootfs', rootfs, 'sleep', '3600'])
})

t.teardown(async () => {
  await run('podman', ['rm', '-f', '-t', '0', container]).catch(() => {})
  await sshd?.stop()
  await pg?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

const spec = (over: Partial<SourceSpec> = {}): SourceSpec => ({
  name: 'production',
  kind: 'ssh+podman',
  host: '127.0.0.1',
  sshConfigFile: sshd.configFile,
  container,
  engine: 'podman',
  database: 'rotv',
  dbUser: 'postgres',
  dbHost: '127.0.0.1',
  dbPort: pg.port,
  ...over,
})

t.test('ssh+podman: pg_dump inside the container, a verified snapshot', async (t) => {
  const store = openStore(join(work, 'home'))
  let wire = 0
  const m = await store.pull(spec(), { onProgress: (p) => (wire = p.bytes) })
  t.same(m.tables, { 'public.news': 4321, 'public.pois': 3210 })
  t.equal(m.source.kind, 'ssh+podman')
  t.match(m.source.description, new RegExp(`podman exec ${container} pg_dump rotv as postgres`))
  t.match(m.serverVersion, /^15\./)
  t.ok(wire < m.uncompressedBytes / 2, `gzip on the wire: ${wire} bytes for ${m.uncompressedBytes}`)
  t.equal((await store.verify('production')).sha256, m.sha256)

  const before = m.sha256
  const err = await store.pull(spec({ container: 'rotv-no-such-container' })).then(() => undefined, (e: Error) => e)
  t.type(err, ContainerNotFoundError, err?.message ?? 'no error')
  t.equal((await store.verify('production')).sha256, before, 'previous snapshot intact')
})
