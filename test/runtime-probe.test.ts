// RUNTIME=auto with an image present but a host where no container can run (podman's ulimits above
// the hard limits, as buildah never notices): start falls back to the host runtime with one line that
// says why and names the fix; the probe's answer is cached per data home and asked again when the
// containers.conf in use changes. Real podman, real CLI.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { detectEngine } from '../lib/container/engine.ts'
import { probeContainerRun } from '../lib/container/probe.ts'
import { isolatedEnv, runCliSync } from './helpers/cli.ts'
import { BASE_IMAGE, CONTAINERS_CONF, ensureBaseImage } from './helpers/podman.ts'
import { freePort } from './helpers/production-postgres.ts'

const dump = join(import.meta.dirname, 'fixtures', 'dumps', 'not-our-app.sql')

t.test('auto falls back to the host when a container cannot run; the probe is cached and re-keyed', async (t) => {
  await ensureBaseImage()
  const home = mkdtempSync(join(tmpdir(), 'rotv-test-home-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  // Above the kernel's nr_open: no runtime can set it, so every `podman run` fails as on the hosts of the issue.
  const badConf = join(home, 'containers.conf')
  writeFileSync(badConf, '[containers]\ndefault_ulimits = ["nofile=999999999:999999999"]\n\n[engine]\nruntime = "runc"\n')
  const envFile = join(home, 'test.env')
  writeFileSync(envFile, `SEED_SOURCE=file\nSEED_FILE=${dump}\n`)
  const env = isolatedEnv({
    ROTV_HOME: home,
    RUNTIME: 'auto',
    ROTV_IMAGE: BASE_IMAGE,
    CONTAINERS_CONF: badConf,
    APP_PORT: String(await freePort()),
    PG_PORT: String(await freePort()),
    ROTV_DOTENV: envFile,
  })
  t.teardown(() => void runCliSync(['stop', '--dotenv', envFile], { ...env, RUNTIME: 'host' }))

  const started = runCliSync(['start', '--db-only', '--verbose', '--dotenv', envFile], env)
  t.equal(started.code, 0, started.all)
  const why = started.all.match(/RUNTIME=auto: using the host runtime[^\n]*/g) ?? []
  t.equal(why.length, 1, 'one line says why')
  t.match(why[0], /because the image localhost\/debian:trixie exists but a container cannot run here \([^)]*rlimit/)
  t.match(why[0], /to use the container: .*default_ulimits.*export CONTAINERS_CONF=.*or use the host runtime: RUNTIME=host/)
  t.notMatch(started.all, /check `podman info`/)
  // --verbose shows the commands, as the README says: the engine's and PostgreSQL's.
  t.match(started.all, /^\$ podman run --rm --network none --entrypoint true localhost\/debian:trixie$/m, '--verbose shows the probe')
  t.match(started.all, /^\$ \S*(initdb|pg_ctl|postgres) /m, "--verbose shows PostgreSQL's commands")
  const status = runCliSync(['status', '--dotenv', envFile], { ...env, RUNTIME: 'host' })
  t.match(status.all, /running/, 'it runs on the host')

  const cacheFile = join(home, 'run', 'container-probe.json')
  t.ok(existsSync(cacheFile), 'the answer is kept in the data home')
  t.equal(JSON.parse(readFileSync(cacheFile, 'utf8')).ok, false)

  // Another containers.conf (the one that fits these hosts): a new key, so the probe runs again and passes.
  const engine = await detectEngine('podman')
  t.ok(engine)
  const saved = process.env.CONTAINERS_CONF
  process.env.CONTAINERS_CONF = CONTAINERS_CONF
  t.teardown(() => {
    process.env.CONTAINERS_CONF = saved
  })
  const fresh = await probeContainerRun(engine!, BASE_IMAGE, home)
  t.match(fresh, { ok: true, cached: false }, 're-probed after the configuration changed')
  t.match(await probeContainerRun(engine!, BASE_IMAGE, home), { ok: true, cached: true }, 'then cached')
})
