// An env file that is not a plain file: each is a clear error naming what it is and the fix, fast (a
// FIFO or /dev/zero must not hang the CLI), and never silently "no .env" (which would mean demo data).
// And nothing from .env may reach ssh, podman or pg_dump as an option.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { EnvFileError, loadConfig } from '../lib/config/load.ts'
import { isolatedEnv, runCliSync } from './helpers/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'rotv-envfile-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const cases: Array<{ name: string; make: (p: string) => void; message: RegExp; fix: RegExp }> = [
  { name: 'a symlink loop', make: (p) => symlinkSync(p, p), message: /is a symbolic link that loops/, fix: /point .* at your real env file, or remove the link/ },
  { name: 'a dangling symlink', make: (p) => symlinkSync(join(dir, 'nowhere.env'), p), message: /is a symbolic link to .*nowhere\.env, which does not exist/, fix: /create .*nowhere\.env/ },
  { name: 'a directory', make: (p) => mkdirSync(p), message: /is a directory, not an env file/, fix: /create .* as a file/ },
  { name: 'a FIFO', make: (p) => execFileSync('mkfifo', [p]), message: /is not a regular file \(a pipe, socket or device\)/, fix: /make .* a plain file/ },
  { name: 'a link to /dev/zero', make: (p) => symlinkSync('/dev/zero', p), message: /is not a regular file/, fix: /make .* a plain file/ },
]

for (const c of cases) {
  t.test(`--dotenv pointing at ${c.name}`, async (t) => {
    const p = join(dir, `${c.name.replace(/\W+/g, '-')}.env`)
    c.make(p)
    const r = runCliSync(['validate-env', '--dotenv', p], isolatedEnv(), 30_000)
    t.equal(r.code, 1, `exit 1, not a hang or a crash: ${r.all}`)
    t.match(r.all, c.message)
    t.match(r.all, c.fix)
    t.notMatch(r.all, /^\s+at .*:\d+:\d+\)?$|node:internal/m, 'no stack trace')
  })
}

t.test('a dangling .env at the root is an error, not "no .env" (demo data)', async (t) => {
  const root = mkdtempSync(join(dir, 'root-'))
  symlinkSync(join(root, 'secrets', '.env'), join(root, '.env'))
  t.throws(() => loadConfig({ root, env: {} }), EnvFileError)
  t.throws(() => loadConfig({ root, env: {} }), /which does not exist/)
})

t.test('ssh user, container and database user are names, never options', async (t) => {
  for (const [name, value] of [['PRODUCTION_USER', '-oProxyCommand=touch /tmp/pwned'], ['PRODUCTION_CONTAINER', '--privileged'], ['PRODUCTION_DB_USER', '-h evil']]) {
    const p = join(dir, `${name}.env`)
    writeFileSync(p, `PRODUCTION_HOST=db.example.org\n${name}=${value}\n`)
    const r = runCliSync(['validate-env', '--dotenv', p], isolatedEnv(), 60_000)
    t.equal(r.code, 1, `${name} refused`)
    t.match(r.all, new RegExp(`${name} .*a plain name \\(not starting with -`))
  }
  const ok = join(dir, 'ok.env')
  writeFileSync(ok, "PRODUCTION_HOST=db.example.org\nPRODUCTION_USER=deploy.bot@corp\nPRODUCTION_DB_USER=\"o'brien\"\n")
  t.equal(runCliSync(['validate-env', '--dotenv', ok], isolatedEnv(), 60_000).code, 0, 'ordinary names pass')
})
