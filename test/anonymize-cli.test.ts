// The switches as a user meets them: ANONYMIZE in .env, seed --anonymize / --no-anonymize, the salt's
// absence, `snapshots export` refusing personal data; and the salt never printed.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import zlib from 'node:zlib'
import { isolatedEnv, runCli } from './helpers/cli.ts'
import { DEMO_LOGIN } from '../lib/demo/generate.ts'

const salt = 'cli-test-salt-9f8e7d6c5b4a39281706'

t.test('seed and snapshots export from the command line', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'rotv-anon-cli-'))
  t.teardown(() => rm(home, { recursive: true, force: true }))
  const dotenv = join(home, 'test.env')
  await writeFile(dotenv, `ANONYMIZE=true\nANONYMIZE_SALT=${salt}\n`)
  const env = isolatedEnv({ ROTV_HOME: home })
  const cli = (...args: string[]) => runCli(['--dotenv', dotenv, ...args], env)

  const anon = await cli('seed', 'demo', '--as', 'shareable', '--json')
  t.equal(anon.code, 0, anon.all)
  const manifest = JSON.parse(anon.stdout).tasks.find((x: { name: string }) => x.name === 'seed').result
  t.equal(manifest.anonymized, true, 'ANONYMIZE=true in the env file anonymizes by default')
  t.match(manifest.anonymization.rulesOrigin, 'anonymize.config.ts')

  const plain = await cli('seed', 'demo', '--as', 'plain', '--no-anonymize')
  t.equal(plain.code, 0, plain.all)
  t.notMatch(plain.all, /anonymized/)

  // The bundled demo data is synthetic: it exports without --force and without a warning.
  const demoOut = join(home, 'demo.sql')
  const demo = await cli('snapshots', 'export', 'plain', '--out', demoOut)
  t.equal(demo.code, 0, demo.all)
  t.notMatch(demo.all, /warning/)
  t.match(demo.all, /synthetic demo data/)
  t.equal((await stat(demoOut)).mode & 0o777, 0o644)

  // A file handed over is not known to be synthetic: as it is, it may not leave.
  const handed = await cli('seed', '--from-file', demoOut, '--as', 'handed', '--no-anonymize')
  t.equal(handed.code, 0, handed.all)
  const refused = await cli('snapshots', 'export', 'handed', '--out', join(home, 'handed.sql.gz'))
  t.equal(refused.code, 1)
  t.match(refused.all, /snapshot "handed" is not anonymized/)
  t.match(refused.all, /--force/)
  await t.rejects(stat(join(home, 'handed.sql.gz')))
  // Forced, it leaves with one warning (printed once, not again in the closing lines) and mode 0600.
  const forcedOut = join(home, 'handed-forced.sql')
  const forced = await cli('snapshots', 'export', 'handed', '--out', forcedOut, '--force')
  t.equal(forced.code, 0, forced.all)
  t.equal(forced.all.split('is NOT anonymized: it holds personal data (export forced with --force)').length - 1, 1, forced.all)
  t.match(forced.all, /warning: snapshots: snapshot "handed" is NOT anonymized/)
  t.equal((await stat(forcedOut)).mode & 0o777, 0o600)

  const out = join(home, 'handover.sql.gz')
  const exported = await cli('snapshots', 'export', 'shareable', '--out', out)
  t.equal(exported.code, 0, exported.all)
  const sql = zlib.gunzipSync(readFileSync(out)).toString('utf8')
  t.notMatch(sql, DEMO_LOGIN.email)
  t.match(sql, /@example\.invalid/)

  // The leak scan on stored snapshots: exit 1 with table/column/kind/count on findings, 0 when clean.
  const dirty = await cli('snapshots', 'scan', 'plain')
  t.equal(dirty.code, 1, dirty.all)
  t.match(dirty.all, /the leak scan found \d+ values? that look personal/)
  t.match(dirty.all, /public\.users\.email: \d+ email pattern match/)
  t.notMatch(dirty.all, DEMO_LOGIN.email, 'a finding never shows the value')
  const clean = await cli('snapshots', 'scan', 'shareable')
  t.equal(clean.code, 0, clean.all)
  t.match(clean.all, /found nothing \(patterns and \d+ fingerprints/)

  const listed = await cli('snapshots')
  t.match(listed.all, /shareable .* anonymized/)

  const noSalt = await runCli(['seed', 'demo', '--anonymize', '--as', 'x'], env)
  t.equal(noSalt.code, 1)
  t.match(noSalt.all, /ANONYMIZE_SALT/)

  for (const r of [anon, plain, demo, handed, refused, forced, exported, dirty, clean, listed]) t.notMatch(r.all, salt, 'the salt is never printed')
})
