// The original setup's snapshot source for real: "production" is a container of the rotv image in
// persistent mode (started by the task runner with PERSISTENT_DATA=true, as in production), reached
// through a loopback sshd; the pull runs `ssh ... podman exec <container> pg_dump` (lib/sources/ssh.ts)
// with the source the configuration describes (PRODUCTION_HOST, PRODUCTION_CONTAINER, default db user
// rotv, which the entrypoint creates with read-only access). The snapshot is then started in a dev
// container and shows production's own row.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../lib/config/load.ts'
import { sourceSpec } from '../lib/runtime/from-config.ts'
import { openStore } from '../lib/snapshots/index.ts'
import { repo, runCli } from './helpers/cli.ts'
import { containerEnv, ensureTestImage, podman, removeContainer } from './helpers/podman.ts'
import { startSshd, type TestSshd } from './helpers/sshd.ts'

let sshd: TestSshd
t.before(async () => {
  await ensureTestImage(await containerEnv())
  sshd = await startSshd()
})
t.teardown(async () => {
  await sshd?.stop()
})

t.test('ssh+podman: pg_dump inside a persistent-mode container of this image, then a dev start on that snapshot', async (t) => {
  const prodData = mkdtempSync(join(tmpdir(), 'rotv-ctest-prod-'))
  const prod = await containerEnv({ PERSISTENT_DATA: 'true', DATA_DIR: join(prodData, 'pgdata'), SESSION_SECRET: randomBytes(24).toString('hex') })
  const prodName = prod.ROTV_CONTAINER_NAME!
  const dev = await containerEnv({ PRODUCTION_HOST: '127.0.0.1', PRODUCTION_PORT: String(sshd.port), PRODUCTION_USER: sshd.user, PRODUCTION_CONTAINER: prodName })
  t.teardown(async () => {
    await runCli(['stop'], dev)
    await runCli(['stop'], prod)
    await removeContainer(dev.ROTV_CONTAINER_NAME!)
    await removeContainer(prodName)
    for (const d of [prod.ROTV_HOME!, dev.ROTV_HOME!, prodData]) rmSync(d, { recursive: true, force: true })
  })

  // Production: the image in persistent mode, with a row only production has.
  const up = await runCli(['start'], prod)
  t.equal(up.code, 0, 'production container starts (PERSISTENT_DATA=true)', { output: up.all.slice(-4000) })
  const marker = `prod-only-${randomBytes(4).toString('hex')}`
  await podman(['exec', prodName, 'psql', '-U', 'postgres', '-d', 'rotv', '-c',
    `INSERT INTO pois (slug, name, poi_type, latitude, longitude) VALUES ('${marker}', 'Production only', 'trail', 41.2, -81.5)`])

  // The source exactly as the configuration describes it; only the ssh_config file is the test's
  // (ssh reads ~/.ssh/config from the passwd home, which a test must not touch).
  const config = loadConfig({ root: repo, env: dev }).config
  const spec = { ...sourceSpec(config, 'production'), sshConfigFile: sshd.configFile }
  t.match(spec, { kind: 'ssh+podman', host: '127.0.0.1', container: prodName, engine: 'podman', dbUser: 'rotv', database: 'rotv' })
  const store = openStore(dev.ROTV_HOME!)
  const manifest = await store.pull(spec)
  t.equal(manifest.source.kind, 'ssh+podman')
  t.equal(manifest.tables['public.pois'], 372, 'the dump holds production\'s 371 + 1 POIs')
  t.match(manifest.serverVersion, /^17\./, 'dumped from the container\'s PostgreSQL 17')
  t.match(manifest.pgDumpVersion, /^17\./, 'by the container\'s own pg_dump')
  t.match(sshd.log(), /Accepted publickey/, 'through the loopback sshd')

  // Development on that snapshot: a throwaway container, production's row included.
  const start = await runCli(['start', 'production', '--json'], dev)
  t.equal(start.code, 0, 'dev start on the pulled snapshot exits 0', { output: start.all.slice(-4000) })
  const report = JSON.parse(start.stdout) as { tasks: Array<{ name: string; summary: string; result: Record<string, unknown> }> }
  const task = report.tasks.find((x) => x.name === 'start')!
  t.match(task.summary, '372 POIs, 178 destinations')
  t.same([task.result.snapshot, task.result.mode, task.result.runtime], ['production', 'dev', 'container'])
  const found = await podman(['exec', dev.ROTV_CONTAINER_NAME!, 'psql', '-U', 'postgres', '-d', 'rotv', '-tAc', `SELECT name FROM pois WHERE slug = '${marker}'`])
  t.equal(found.stdout.trim(), 'Production only')
})
