// Source construction and remote command quoting, checked by running the commands through a real shell.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createSource, dumpArgv, parseDatabaseUrl, remoteCommand, SOURCE_KINDS, type SourceSpec } from '../lib/sources/index.ts'
import { shellJoin } from '../lib/sources/shell-quote.ts'
import { RotvError } from '../lib/errors.ts'

const run = promisify(execFile)

/** What a POSIX shell turns a command line into: one argument per line. */
async function shellArgv(commandLine: string): Promise<string[]> {
  const { stdout } = await run('sh', ['-c', `printargs() { for a in "$@"; do printf '%s\\0' "$a"; done; }; printargs ${commandLine}`])
  return stdout.split('\0').slice(0, -1)
}

t.test('shell quoting survives a real shell, whatever the argument holds', async (t) => {
  const nasty = ["it's", 'two words', '$(touch /tmp/rotv-pwned)', '`id`', 'a;b', 'back\\slash', '"dq"', '', '*', '-dash', 'ünïcode', 'new\nline']
  t.same(await shellArgv(shellJoin(nasty)), nasty)
})

t.test('remote commands: pg_dump flags, engine, container, and pipefail when gzipping', async (t) => {
  const spec: SourceSpec = { name: 'production', kind: 'ssh+podman', host: 'db', container: "rotv db'1", engine: 'docker', database: 'my db', dbUser: 'o\'brien' }
  const argv = dumpArgv(spec)
  t.same(argv, ['docker', 'exec', "rotv db'1", 'pg_dump', '--format=plain', '--clean', '--if-exists', '--no-owner', '--no-acl', '-U', "o'brien", '--', 'my db'])
  t.same(dumpArgv({ name: 'p', kind: 'ssh+podman', host: 'h', container: 'c' }).slice(0, 3), ['podman', 'exec', 'c'], 'podman by default')
  t.same(dumpArgv({ name: 'p', kind: 'ssh', host: 'h' }).slice(-4), ['-U', 'rotv', '--', 'rotv'], 'rotv/rotv by default')

  // Run the generated remote command in a real shell with `exec` stubbed out to print what would run.
  const plain = remoteCommand(spec, false)
  t.same(await shellArgv(plain.replace(/^exec /, '')), argv)
  const gz = remoteCommand(spec, true)
  t.match(gz, /^exec bash -c /)
  const inner = (await shellArgv(gz.replace(/^exec /, '')))
  t.equal(inner[0], 'bash')
  t.equal(inner[1], '-c')
  t.equal(inner[2], `set -o pipefail; ${shellJoin(argv)} | gzip -1`)
})

t.test('pipefail is what makes a failing pg_dump fail the gzip pipeline', async (t) => {
  const without = await run('bash', ['-c', 'false | gzip -1 > /dev/null']).then(() => 0, (e: { code: number }) => e.code)
  const withIt = await run('bash', ['-c', 'set -o pipefail; false | gzip -1 > /dev/null']).then(() => 0, (e: { code: number }) => e.code)
  t.equal(without, 0, 'plain pipeline hides the failure')
  t.equal(withIt, 1, 'pipefail surfaces it')
})

t.test('url parsing keeps the password out of everything but the password field', async (t) => {
  const p = parseDatabaseUrl({ name: 'staging', url: 'postgres://app:p%40ss%3Aw0rd@db.internal:6543/rotv?sslmode=require' })
  t.equal(p.password, 'p@ss:w0rd')
  t.equal(p.withoutPassword, 'postgres://app@db.internal:6543/rotv?sslmode=require')
  t.equal(p.redacted, 'postgres://app:***@db.internal:6543/rotv?sslmode=require')
  t.equal(p.host, 'db.internal')
  t.equal(p.database, 'rotv')
  const err = (() => {
    try {
      parseDatabaseUrl({ name: 'staging', url: 'mysql://u:topsecret@h/db' })
    } catch (e) {
      return e as RotvError
    }
  })()
  t.type(err, RotvError)
  t.notMatch(err!.message, /topsecret/)
  t.match(err!.fix, /STAGING_DATABASE_URL/)
})

t.test('specs missing what their kind needs are refused with a fix', async (t) => {
  t.same([...SOURCE_KINDS], ['ssh+podman', 'ssh', 'url', 'file', 'demo', 'registry'])
  const bad: [SourceSpec, RegExp][] = [
    [{ name: 'production', kind: 'ssh' }, /PRODUCTION_HOST/],
    [{ name: 'staging', kind: 'ssh+podman', host: 'h' }, /STAGING_CONTAINER/],
    [{ name: 'production', kind: 'url' }, /PRODUCTION_DATABASE_URL/],
    [{ name: 'production', kind: 'file' }, /SEED_FILE/],
    [{ name: 'staging', kind: 'file' }, /STAGING_FILE/],
    [{ name: 'production', kind: 'registry' }, /PRODUCTION_REGISTRY/],
    [{ name: 'production', kind: 'ftp' as SourceSpec['kind'] }, /ssh\+podman, ssh, url, file, demo, registry/],
  ]
  for (const [spec, fix] of bad) {
    try {
      createSource(spec)
      t.fail(`${spec.kind} accepted`)
    } catch (err) {
      t.type(err, RotvError)
      t.match((err as RotvError).fix, fix)
    }
  }
  t.match(createSource({ name: 'p', kind: 'ssh+podman', host: 'db', port: 2222, user: 'deploy', container: 'pg' }).describe(), 'ssh+podman deploy@db:2222 (podman exec pg pg_dump rotv as rotv)')
})
