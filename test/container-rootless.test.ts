// Rootless podman end to end: the task runner run by an unprivileged user (with /etc/subuid ranges),
// the same image (loaded into that user's storage), dev mode on a tmpfs, and persistent mode where
// `podman unshare chown 70:70 DATA_DIR` hands the bind-mounted directory to the container's postgres:
// on the host it then belongs to the user's subordinate uid for UID 70.
import { randomBytes } from 'node:crypto'
import { chownSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { CliResult } from './helpers/cli.ts'
import { containerEnv, ensureRootlessUser, ensureTestImage, psAll, rootlessPodman, runCliAs, type RootlessUser } from './helpers/podman.ts'

let user: RootlessUser
t.before(async () => {
  await ensureTestImage(await containerEnv())
  user = await ensureRootlessUser()
})

function startTask(r: CliResult): { summary: string; result: Record<string, unknown> } {
  const report = JSON.parse(r.stdout) as { tasks: Array<{ name: string; summary: string; result: Record<string, unknown> }> }
  return report.tasks.find((x) => x.name === 'start')!
}

/** A data home (and optional DATA_DIR parent) the rootless user owns. */
async function userEnv(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const env = await containerEnv(extra)
  chownSync(env.ROTV_HOME!, user.uid, user.gid)
  return env
}

const psql = async (name: string, sql: string) =>
  (await rootlessPodman(user, ['exec', name, 'psql', '-U', 'postgres', '-d', 'rotv', '-tAc', sql])).stdout.trim()

t.test('rootless: podman runs as an unprivileged user', async (t) => {
  t.equal((await rootlessPodman(user, ['info', '--format', '{{.Host.Security.Rootless}}'])).stdout.trim(), 'true')
  t.not(user.uid, 0)
})

t.test('rootless dev mode: start, counts, clean slate, stop', async (t) => {
  const env = await userEnv()
  t.teardown(async () => {
    await runCliAs(user, ['stop'], env)
    rmSync(env.ROTV_HOME!, { recursive: true, force: true })
  })
  const name = env.ROTV_CONTAINER_NAME!
  const first = await runCliAs(user, ['start', '--json'], env)
  t.equal(first.code, 0, 'rootless start exits 0', { output: first.all.slice(-4000) })
  t.match(startTask(first).summary, `ready at http://localhost:${env.APP_PORT}: 371 POIs, 178 destinations, 647 news, 680 events`)
  const destinations = (await (await fetch(`http://127.0.0.1:${env.APP_PORT}/api/destinations`)).json()) as unknown[]
  t.equal(destinations.length, 178)
  await psql(name, "INSERT INTO pois (slug, name, poi_type, latitude, longitude) VALUES ('test-poi', 'Test POI', 'trail', 41.2, -81.5)")
  const restart = await runCliAs(user, ['stop', 'start', '--json'], env)
  t.equal(restart.code, 0, 'rootless stop start exits 0', { output: restart.all.slice(-4000) })
  t.equal(startTask(restart).result.prepared, 'warm')
  t.equal(await psql(name, 'SELECT count(*) FROM pois'), '371', 'clean slate after a restart')
  const stop = await runCliAs(user, ['stop'], env)
  t.equal(stop.code, 0)
  t.match(stop.all, /in-memory data discarded/)
})

t.test('rootless persistent mode: podman unshare chown maps DATA_DIR to the container\'s UID 70', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'rotv-rootless-data-'))
  chownSync(parent, user.uid, user.gid)
  const dataDir = join(parent, 'pgdata')
  const secret = `rootless-${randomBytes(20).toString('hex')}`
  const env = await userEnv({ PERSISTENT_DATA: 'true', DATA_DIR: dataDir, SESSION_SECRET: secret })
  t.teardown(async () => {
    await runCliAs(user, ['stop'], env)
    // Files owned by subordinate uids: root removes them.
    for (const d of [env.ROTV_HOME!, parent]) rmSync(d, { recursive: true, force: true })
  })
  const name = env.ROTV_CONTAINER_NAME!
  const first = await runCliAs(user, ['start', '--json'], env)
  t.equal(first.code, 0, 'rootless persistent start exits 0', { output: first.all.slice(-4000) })
  t.same([startTask(first).result.mode, startTask(first).result.prepared], ['persistent', 'imported'])
  t.notOk(psAll().includes(secret), 'the secret is not on any command line')
  const mapped = user.subuidStart + 70 - 1
  const st = statSync(dataDir)
  t.same([st.uid, st.gid], [mapped, mapped], `DATA_DIR belongs to subordinate uid ${mapped} (container UID 70)`)
  t.ok(readdirSync(dataDir).includes('PG_VERSION'))
  t.equal((await rootlessPodman(user, ['exec', name, 'stat', '-c', '%u:%g', '/data/pgdata'])).stdout.trim(), '70:70', 'inside, it is postgres\'s')

  await psql(name, "INSERT INTO pois (slug, name, poi_type, latitude, longitude) VALUES ('test-poi', 'Test POI', 'trail', 41.2, -81.5)")
  const restart = await runCliAs(user, ['stop', 'start', '--json'], env)
  t.equal(restart.code, 0, 'rootless persistent restart exits 0', { output: restart.all.slice(-4000) })
  t.equal(startTask(restart).result.prepared, 'kept')
  t.equal(await psql(name, 'SELECT count(*) FROM pois'), '372', 'the data survived the restart')
})
