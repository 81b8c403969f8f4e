// bump-version's rules without a build: semver-correct bumps, explicit versions, refusing malformed
// versions and downgrades with a clear message, and both files (Containerfile LABEL version and
// package.json) rewritten together or not at all.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { bumpVersion, nextVersion, readVersions } from '../lib/container/version.ts'
import { recordBuild } from '../lib/container/build-record.ts'
import { ContainerfileError, VersionError } from '../lib/container/errors.ts'
import { isolatedEnv } from './helpers/cli.ts'
import { CONTAINERS_CONF, copyRepo, runCliIn } from './helpers/podman.ts'

const CONTAINERFILE = (label: string) => `ARG BASE_IMAGE=x\nFROM \${BASE_IMAGE} AS infrastructure\nRUN true\n\nFROM infrastructure AS application\n${label}\nCOPY . .\n`
const PACKAGE = (version: string) => `{\n  "name": "demo",\n  "version": "${version}",\n  "private": true\n}\n`

function fixture(label = 'LABEL version="0.1.0"', pkgVersion = '0.1.0'): { dir: string; containerfile: string; packageJson: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rotv-bump-'))
  writeFileSync(join(dir, 'Containerfile'), CONTAINERFILE(label))
  writeFileSync(join(dir, 'package.json'), PACKAGE(pkgVersion))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return { dir, containerfile: join(dir, 'Containerfile'), packageJson: join(dir, 'package.json') }
}

t.test('nextVersion: bump kinds and explicit versions, semver-correct', async (t) => {
  t.equal(nextVersion('0.1.0', 'patch'), '0.1.1')
  t.equal(nextVersion('0.1.0', 'minor'), '0.2.0')
  t.equal(nextVersion('0.1.9', 'minor'), '0.2.0')
  t.equal(nextVersion('0.1.0', 'major'), '1.0.0')
  t.equal(nextVersion('0.1.0', 'prerelease'), '0.1.1-0')
  t.equal(nextVersion('1.0.0-rc.1', 'prerelease'), '1.0.0-rc.2')
  t.equal(nextVersion('1.0.0-rc.1', 'patch'), '1.0.0', 'patch of a prerelease releases it')
  t.equal(nextVersion('0.1.0', '2.0.0'), '2.0.0')
  t.equal(nextVersion('0.1.0', 'v0.3.0'), '0.3.0', 'a leading v is accepted')
  t.equal(nextVersion('1.0.0-rc.1', '1.0.0'), '1.0.0', 'a release is newer than its prerelease')
})

t.test('nextVersion refuses malformed versions and downgrades with the fix', async (t) => {
  for (const bad of ['1.2', 'banana', '1.2.3.4', '', 'minor2']) {
    const err = (() => { try { nextVersion('0.1.0', bad); return undefined } catch (e) { return e } })()
    t.type(err, VersionError, `"${bad}" is refused`)
    t.match((err as VersionError).message, /neither a bump kind nor a version/)
    t.match((err as VersionError).fix, /major, minor, patch, prerelease/)
  }
  t.throws(() => nextVersion('0.2.0', '0.1.9'), { name: 'VersionError', message: /0\.1\.9 is older than the current 0\.2\.0: bump-version never downgrades/ })
  t.throws(() => nextVersion('0.2.0', '0.2.0'), { name: 'VersionError', message: /already 0\.2\.0/ })
  t.throws(() => nextVersion('1.0.0', '1.0.0-rc.1'), { name: 'VersionError', message: /older/ }, 'a prerelease of the current version is a downgrade')
  t.throws(() => nextVersion('latest', 'patch'), { name: 'VersionError', message: /not a semantic version/ })
})

t.test('bumpVersion rewrites the LABEL and package.json, and nothing else', async (t) => {
  const f = fixture()
  const r = await bumpVersion(f, 'minor')
  t.same([r.from, r.to], ['0.1.0', '0.2.0'])
  t.equal(readFileSync(f.containerfile, 'utf8'), CONTAINERFILE('LABEL version="0.2.0"'))
  t.equal(readFileSync(f.packageJson, 'utf8'), PACKAGE('0.2.0'), 'package.json keeps its formatting')
  t.same(await readVersions(f), { label: '0.2.0', packageJson: '0.2.0' })
  t.same(readdirSync(f.dir).sort(), ['Containerfile', 'package.json'], 'no temp file is left behind')
  // An unquoted label is read and written too.
  const g = fixture('LABEL version=1.4.2', '1.4.2')
  await bumpVersion(g, 'patch')
  t.match(readFileSync(g.containerfile, 'utf8'), /^LABEL version="1\.4\.3"$/m)
})

t.test('both or neither: a refused bump changes no file', async (t) => {
  const f = fixture()
  const before = [readFileSync(f.containerfile, 'utf8'), readFileSync(f.packageJson, 'utf8')]
  await t.rejects(bumpVersion(f, '0.0.9'), VersionError)
  await t.rejects(bumpVersion(f, 'x.y'), VersionError)
  t.same([readFileSync(f.containerfile, 'utf8'), readFileSync(f.packageJson, 'utf8')], before)

  const ahead = fixture('LABEL version="0.1.0"', '0.5.0')
  await t.rejects(bumpVersion(ahead, 'minor'), { name: 'VersionError', message: /package.json is already at 0\.5\.0/ })
  t.equal(readFileSync(ahead.containerfile, 'utf8'), CONTAINERFILE('LABEL version="0.1.0"'), 'the Containerfile was not changed either')

  const twoLabels = fixture('LABEL version="0.1.0"\nLABEL version="0.1.0"')
  await t.rejects(bumpVersion(twoLabels, 'patch'), ContainerfileError)
  const noLabel = fixture('LABEL other="x"')
  await t.rejects(bumpVersion(noLabel, 'patch'), { name: 'ContainerfileError', message: /no `LABEL version="X\.Y\.Z"` line/ })

  const brokenPkg = fixture()
  writeFileSync(brokenPkg.packageJson, '{ "version": "0.1.0", ')
  await t.rejects(bumpVersion(brokenPkg, 'patch'))
  t.equal(readFileSync(brokenPkg.containerfile, 'utf8'), CONTAINERFILE('LABEL version="0.1.0"'), 'an unreadable package.json leaves the Containerfile alone')
})

t.test('through the CLI (a copy of the repository): refusals are exit 1 with the reason and the fix', async (t) => {
  const dir = copyRepo()
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env = isolatedEnv({ ROTV_HOME: join(dir, '.home') })
  const before = [readFileSync(join(dir, 'Containerfile'), 'utf8'), readFileSync(join(dir, 'package.json'), 'utf8')]
  const current = (await readVersions({ containerfile: join(dir, 'Containerfile'), packageJson: join(dir, 'package.json') })).label

  const malformed = await runCliIn(dir, ['bump-version', '1.2', '--no-build'], env)
  t.equal(malformed.code, 1)
  t.match(malformed.all, /"1\.2" is neither a bump kind nor a version/)
  t.match(malformed.all, /major, minor, patch, prerelease/)
  const downgrade = await runCliIn(dir, ['bump-version', '0.0.1', '--no-build'], env)
  t.equal(downgrade.code, 1)
  t.match(downgrade.all, new RegExp(`0\\.0\\.1 is older than the current ${current.replace(/\./g, '\\.')}: bump-version never downgrades`))
  const missing = await runCliIn(dir, ['bump-version'], env)
  t.equal(missing.code, 2, 'no version at all is a usage error')
  t.same([readFileSync(join(dir, 'Containerfile'), 'utf8'), readFileSync(join(dir, 'package.json'), 'utf8')], before, 'nothing was changed')

  const ok = await runCliIn(dir, ['bump-version', 'patch', '--no-build', '--json'], env)
  t.equal(ok.code, 0, 'bump-version patch --no-build exits 0', { output: ok.all })
  const bumped = await readVersions({ containerfile: join(dir, 'Containerfile'), packageJson: join(dir, 'package.json') })
  t.equal(bumped.label, bumped.packageJson, 'both files carry the new version')
  t.not(bumped.label, current)
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'))
  t.same([lock.version, lock.packages[''].version], [bumped.label, bumped.label], "package-lock.json's version moves with package.json")
})

t.test('a failed rebuild after a bump: the last build\'s base image was used, all version files are as they were, the error once', async (t) => {
  const dir = copyRepo()
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const home = join(dir, '.home')
  const tag = `localhost/rotv-bump-test-${process.pid}:latest`
  // What `build --base-image ...` records; a base image that does not exist makes the rebuild fail fast.
  await recordBuild(home, { tag, baseImage: 'localhost/rotv-no-such-base:1', imageId: 'sha256:0', builtAt: new Date().toISOString() })
  const env = isolatedEnv({ ROTV_HOME: home, ROTV_IMAGE: tag, CONTAINERS_CONF })
  const files = ['Containerfile', 'package.json', 'package-lock.json']
  const before = files.map((f) => readFileSync(join(dir, f), 'utf8'))
  const current = (await readVersions({ containerfile: join(dir, 'Containerfile'), packageJson: join(dir, 'package.json') })).label

  const r = await runCliIn(dir, ['bump-version', 'patch'], env)
  t.equal(r.code, 1, r.all)
  t.match(r.all, /rebuilding from localhost\/rotv-no-such-base:1, the base image of the last build/)
  t.notMatch(r.all, /debian:trixie-slim/, 'not the public base image')
  t.match(r.all, new RegExp(`failed: task bump-version: the rebuild failed, so the version stays ${current.replace(/\./g, '\\.')}: podman build failed: `))
  t.match(r.all, /fix: check that the base image localhost\/rotv-no-such-base:1 exists.*; then npx tsx Taskfile\.ts bump-version \d+\.\d+\.\d+ --base-image localhost\/rotv-no-such-base:1/)
  t.equal(r.all.split('STEP 1/7: FROM localhost/rotv-no-such-base:1').length - 1, 1, "podman's output is printed once")
  t.same(files.map((f) => readFileSync(join(dir, f), 'utf8')), before, 'Containerfile, package.json and package-lock.json are as they were')
})
