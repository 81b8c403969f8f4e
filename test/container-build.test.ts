// `build` and `bump-version` on real podman, in a copy of the repository (bump-version rewrites files):
// a repeated build comes entirely from the layer cache; a version bump re-runs the application stage
// only (asserted from podman's own "--> Using cache" lines, as the task reports them per stage, never
// from timings); a .env in the build context and the build's CA secret never reach the image.
import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseBuildOutput } from '../lib/container/build.ts'
import { BASE_IMAGE, buildThroughCli, containerEnv, copyRepo, ensureBaseImage, podman, runCliIn } from './helpers/podman.ts'

interface Stage {
  name: string
  steps: number
  cachedSteps: number
  cached: boolean
}

const TAG = 'localhost/rotv-build-test:latest'

function stagesOf(stdout: string, task: string): Stage[] {
  const report = JSON.parse(stdout) as { tasks: Array<{ name: string; result: { stages: Stage[] } }> }
  return report.tasks.find((x) => x.name === task)!.result.stages
}

const summary = (stages: Stage[]) => Object.fromEntries(stages.map((s) => [s.name, s.cached]))

t.test('build caches every stage; bump-version rebuilds the application stage only; no secret in the image', async (t) => {
  await ensureBaseImage()
  const dir = copyRepo()
  const env = await containerEnv({ ROTV_IMAGE: TAG })
  t.teardown(async () => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(env.ROTV_HOME!, { recursive: true, force: true })
    await podman(['rmi', '--force', TAG]).catch(() => {})
  })
  // A developer's .env sits in the build context: .containerignore must keep it out of every layer.
  const secret = `ctx-secret-${randomBytes(16).toString('hex')}`
  writeFileSync(join(dir, '.env'), `SESSION_SECRET=${secret}\nGOOGLE_CLIENT_SECRET=${secret}\n`, { mode: 0o600 })

  // A version no earlier run used, so the layer cache cannot already hold this application stage (CI runs
  // the suite three times on one machine, and every run must see the bump rebuild it).
  const minor = 1000 + Math.floor(Math.random() * 1_000_000)
  const base = `0.${minor}.0`
  const setBase = await runCliIn(dir, ['bump-version', base, '--no-build'], env)
  t.equal(setBase.code, 0, `bump-version ${base} --no-build exits 0`, { output: setBase.all.slice(-4000) })

  const first = await buildThroughCli(['--base-image', BASE_IMAGE, '--tag', TAG], env, dir)
  t.equal(first.code, 0, 'first build exits 0', { output: first.all.slice(-4000) })
  const firstStages = stagesOf(first.stdout, 'build')
  t.same(firstStages.map((s) => s.name), ['infrastructure', 'dependencies', 'frontend', 'application'], 'the four stages, in order')
  t.comment(`first build: ${JSON.parse(first.stdout).tasks[0].summary}`)

  const again = await buildThroughCli(['--base-image', BASE_IMAGE, '--tag', TAG], env, dir)
  t.equal(again.code, 0, 'second build exits 0', { output: again.all.slice(-4000) })
  t.same(summary(stagesOf(again.stdout, 'build')), { infrastructure: true, dependencies: true, frontend: true, application: true }, 'an unchanged tree is entirely cached')
  t.match(JSON.parse(again.stdout).tasks[0].summary, /infrastructure: cached; dependencies: cached; frontend: cached; application: cached/)
  t.comment(`unchanged rebuild: ${JSON.parse(again.stdout).tasks[0].summary}`)

  // Nothing secret in the image: not the context's .env, not the CA bundle passed as a build secret.
  const listing = (await podman(['run', '--rm', '--entrypoint', 'sh', TAG, '-c', 'ls -a /opt/rotv /opt/rotv/app; ls -a /run/secrets 2>/dev/null; true'])).stdout
  t.notMatch(listing, /^\.env/m, 'no .env file in /opt/rotv or /opt/rotv/app')
  t.notMatch(listing, /^(\.git|test|\.scratch\S*)$/m, 'no .git, tests or scratch directories')
  t.notMatch(listing, /npm-ca/, 'the build secret (CA bundle) is not in the image')
  const grep = (await podman(['run', '--rm', '--entrypoint', 'sh', TAG, '-c', `grep -rl ${secret} / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null; true`])).stdout
  t.equal(grep.trim(), '', 'the .env secret is in no file of the image')
  const tools = (await podman(['run', '--rm', '--entrypoint', 'sh', TAG, '-c', 'chromium --version; node --version; id -u postgres; id -g postgres; psql --version'])).stdout
  t.match(tools, /^Chromium \d+/m, "Debian's Chromium is in the image (/usr/bin/chromium, for Playwright)")
  t.match(tools, /^v20\./m, "Debian's Node.js 20")
  t.match(tools, /^70\n70\n/m, 'postgres is UID/GID 70')
  t.match(tools, /PostgreSQL\) 17\./)
  const inspect = await podman(['image', 'inspect', TAG])
  t.notOk(inspect.stdout.includes(secret), 'podman inspect of the image does not show it')
  const history = await podman(['history', '--no-trunc', TAG])
  t.notOk(history.stdout.includes(secret), 'nor does its history')
  t.match(inspect.stdout, `"version": "${base}"`, 'LABEL version is on the image')

  // bump-version: the version moves, only the application stage runs again.
  const bump = await runCliIn(dir, ['bump-version', 'minor', '--base-image', BASE_IMAGE, '--tag', TAG, '--json'], env)
  t.equal(bump.code, 0, 'bump-version minor exits 0', { output: bump.all.slice(-4000) })
  const bumpStages = stagesOf(bump.stdout, 'bump-version')
  t.same(summary(bumpStages), { infrastructure: true, dependencies: true, frontend: true, application: false }, 'only the application stage was built')
  const app = bumpStages.find((s) => s.name === 'application')!
  t.equal(app.cachedSteps, 0, 'no step of the application stage came from the cache (LABEL version is its first step)')
  const next = `0.${minor + 1}.0`
  t.ok(readFileSync(join(dir, 'Containerfile'), 'utf8').includes(`\nLABEL version="${next}"\n`), `Containerfile: LABEL version="${next}"`)
  t.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version, next)
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'))
  t.same([lock.version, lock.packages[''].version], [next, next], "package-lock.json's version moved too, and the npm ci stages stayed cached")
  t.match(JSON.parse(readFileSync(join(env.ROTV_HOME!, 'builds.json'), 'utf8'))[TAG], { tag: TAG, baseImage: BASE_IMAGE }, 'the build recorded its base image for the next bump')
  t.equal((await podman(['image', 'inspect', '--format', '{{index .Labels "version"}}', TAG])).stdout.trim(), next, 'the rebuilt image carries the new version')
  t.comment(`after bump: ${JSON.parse(bump.stdout).tasks[0].summary}`)

  // `npm run bump <kind>` is the same task.
  const npmBump = await new Promise<{ code: number | null; out: string }>((resolve) => {
    import('node:child_process').then(({ spawn }) => {
      const child = spawn('npm', ['run', 'bump', 'patch', '--', '--base-image', BASE_IMAGE, '--tag', TAG], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (out += d))
      child.on('close', (code) => resolve({ code, out }))
    })
  })
  t.equal(npmBump.code, 0, 'npm run bump patch exits 0', { output: npmBump.out.slice(-4000) })
  t.match(npmBump.out, `version ${next} -> 0.${minor + 1}.1`)
  t.match(npmBump.out, /stage infrastructure: cached[\s\S]*stage dependencies: cached[\s\S]*stage frontend: cached[\s\S]*stage application: built/)
  t.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version, `0.${minor + 1}.1`)
})

t.test('parseBuildOutput: podman and BuildKit forms', async (t) => {
  const podmanOut = [
    '[1/2] STEP 1/3: FROM localhost/debian:trixie AS infrastructure',
    '[1/2] STEP 2/3: RUN apt-get update',
    '--> Using cache 1f675d16f5a6c0485b079f8114c7b854afb1421d30b53bb61696b0835fe5875a',
    '--> 1f675d16f5a',
    '[1/2] STEP 3/3: WORKDIR /opt/rotv',
    '--> Using cache 600912aaaee9bf5e27bcabc7ffd6263a29cc9f48861ab89316b4e0080a2cec89',
    '--> 600912aaaee',
    '[2/2] STEP 1/3: FROM 600912aaaee9bf5e27bcabc7ffd6263a29cc9f48861ab89316b4e0080a2cec89 AS application',
    '[2/2] STEP 2/3: LABEL version="0.2.0"',
    '--> 5d0c0b9f1b2',
    '[2/2] STEP 3/3: COPY lib lib',
    '--> 9a9a9a9a9a9',
    '[2/2] COMMIT localhost/rotv:latest',
  ].join('\n')
  t.same(parseBuildOutput(podmanOut), [
    { index: 1, name: 'infrastructure', steps: 2, cachedSteps: 2, cached: true },
    { index: 2, name: 'application', steps: 2, cachedSteps: 0, cached: false },
  ])
  const buildkit = [
    '#5 [infrastructure 1/3] FROM docker.io/library/debian:trixie-slim',
    '#6 [infrastructure 2/3] RUN apt-get update',
    '#6 CACHED',
    '#7 [application 1/2] LABEL version="0.2.0"',
    '#8 [application 2/2] COPY lib lib',
    '#8 DONE 0.1s',
  ].join('\n')
  t.same(parseBuildOutput(buildkit).map((s) => [s.name, s.cached]), [['infrastructure', true], ['application', false]])
})
