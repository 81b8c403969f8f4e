// The CLI as a user runs it: a real child process, its output and exit status.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { tasks } from '../tasks/index.ts'

const repo = join(import.meta.dirname, '..')
const tsx = join(repo, 'node_modules', '.bin', 'tsx')
const fixture = join(import.meta.dirname, 'fixtures', 'taskfiles', 'fixture-taskfile.ts')
// No .env of the developer's may leak in: every run reads an explicit env file or a temp project.
const cleanEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', ...extra }
  return env
}
const cli = (args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) => {
  const r = spawnSync(tsx, [join(repo, 'Taskfile.ts'), ...args], { cwd: opts.cwd ?? repo, env: cleanEnv(opts.env), encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: r.stdout + r.stderr }
}
const emptyEnvFile = (t: { testdir: (f: Record<string, string>) => string }) => join(t.testdir({ 'empty.env': '' }), 'empty.env')

t.test('--help lists every task with its description and dependencies', async (t) => {
  const r = cli(['--help'])
  t.equal(r.code, 0)
  for (const task of tasks) {
    t.match(r.stdout, task.name)
    t.match(r.stdout, task.description)
    if (task.dependsOn?.length) t.match(r.stdout, `[runs first: ${task.dependsOn.join(', ')}]`)
  }
  t.match(r.stdout, '--json')
})

t.test('<task> --help shows its arguments and options', async (t) => {
  const r = cli(['env-example', '--help'])
  t.equal(r.code, 0)
  t.match(r.stdout, /Usage: npx tsx Taskfile.ts env-example \[options\]/)
  t.match(r.stdout, /--check\s+Only check/)
  t.match(r.stdout, 'Examples:')
})

t.test('an unknown task gets a suggestion and exit status 2', async (t) => {
  const r = cli(['validate-evn'])
  t.equal(r.code, 2)
  t.match(r.stderr, /unknown task "validate-evn" \(did you mean "validate-env"\?\)/)
  t.match(r.stderr, /--help/)
  const o = cli(['validate-env', '--frobnicate'])
  t.equal(o.code, 2)
  t.match(o.stderr, /task validate-env has no option --frobnicate/)
})

t.test('validate-env: exit 0 with no .env, features-off lines, plain output when not a terminal', async (t) => {
  const r = cli(['validate-env', '--dotenv', emptyEnvFile(t)])
  t.equal(r.code, 0)
  t.match(r.stdout, /OAuth login: off/)
  t.match(r.stdout, /Production source: not configured/)
  t.notMatch(r.all, /\u001b\[/, 'no escape sequences when stdout is a pipe')
  t.match(r.stdout.trim().split('\n').at(-1), /^done in [\d.]+s$/, 'the closing line times the run; the summary is on the task\'s own line')
  t.match(r.stdout, /validate-env: configuration OK/)
})

t.test('validate-env on a copy of .env.example: exit 1, the task and each placeholder on the last lines', async (t) => {
  const r = cli(['validate-env', '--dotenv', join(repo, '.env.example')])
  t.equal(r.code, 1)
  const tail = r.stdout.trim().split('\n').slice(-7).join('\n')
  t.match(tail, /failed: task validate-env: 5 configuration problems/)
  for (const v of ['PRODUCTION_HOST', 'SESSION_SECRET', 'GOOGLE_CLIENT_ID', 'GOOGLE_CLIENT_SECRET', 'ADMIN_EMAIL']) {
    t.match(tail, `${v} is still the .env.example placeholder`)
  }
  t.match(tail, /fix: edit \.env/)
  t.notMatch(r.all, 'change-me-to-a-long-random-string', 'the placeholder secret is not echoed')
})

t.test('the process environment overrides .env, and a malformed value is reported without its secret', async (t) => {
  const env = join(t.testdir({ 'x.env': 'APP_PORT=8080\n' }), 'x.env')
  const r = cli(['validate-env', '--dotenv', env], { env: { APP_PORT: 'eighty', SESSION_SECRET: 'sekrit-value' } })
  t.equal(r.code, 1)
  t.match(r.stdout, /APP_PORT is not a port number \(1-65535\): "eighty"/)
  t.match(r.stdout, /SESSION_SECRET is too short/)
  t.notMatch(r.all, 'sekrit-value')
})

t.test('--json: a machine-readable summary on stdout, progress on stderr', async (t) => {
  const ok = cli(['validate-env', '--json', '--dotenv', emptyEnvFile(t)])
  t.equal(ok.code, 0)
  const report = JSON.parse(ok.stdout)
  t.match(report, { ok: true, failed: null, tasks: [{ name: 'validate-env', status: 'succeeded', summary: /configuration OK/ }] })
  t.type(report.durationMs, 'number')
  t.type(report.tasks[0].durationMs, 'number')
  t.ok(report.tasks[0].result.off.length > 0)
  const bad = cli(['validate-env', '--json', '--dotenv', join(repo, '.env.example')])
  t.equal(bad.code, 1)
  const failed = JSON.parse(bad.stdout)
  t.match(failed, { ok: false, failed: 'validate-env', tasks: [{ status: 'failed', error: { type: 'ConfigInvalidError', fix: /edit \.env/ } }] })
  t.equal(failed.tasks[0].error.details.length, 5)
  const unknown = cli(['nope', '--json'])
  t.equal(unknown.code, 2)
  t.match(JSON.parse(unknown.stdout), { ok: false, error: { type: 'UnknownTaskError' } })
})

t.test('on a terminal: the live renderer, and NO_COLOR turns colours off', async (t) => {
  const env = emptyEnvFile(t)
  // `script` gives the CLI a real pseudo-terminal.
  const run = (extra: string) =>
    spawnSync('script', ['-qec', `${extra} ${tsx} ${join(repo, 'Taskfile.ts')} validate-env --dotenv ${env}`, '/dev/null'], {
      env: cleanEnv({ TERM: 'xterm-256color' }),
      encoding: 'utf8',
    })
  const colored = run('')
  t.equal(colored.status, 0)
  t.match(colored.stdout, /\u001b\[3\dm/, 'colours on a terminal')
  const plain = run('NO_COLOR=1')
  t.equal(plain.status, 0)
  t.notMatch(plain.stdout, /\u001b\[3\dm/, 'no colour codes with NO_COLOR')
  const ci = run('CI=true')
  t.equal(ci.status, 0)
  t.notMatch(ci.stdout, /\u001b\[\d*[AK]/, 'CI=true: line-by-line, no cursor movement')
})

t.test('a failing task: exit 1, its name, reason and fix on the last lines', async (t) => {
  const dir = t.testdir({})
  const r = spawnSync(tsx, [fixture, 'fails'], { env: cleanEnv({ FIXTURE_DIR: dir }), encoding: 'utf8' })
  t.equal(r.status, 1)
  const lines = r.stdout.trim().split('\n')
  t.match(lines.at(-2), 'failed: task fails: the widget is broken')
  t.match(lines.at(-1), 'fix: replace the widget')
  t.ok(existsSync(join(dir, 'prepared')), 'its dependency ran first')
})

t.test('a dependency cycle stops the CLI before any task runs', async (t) => {
  const dir = t.testdir({})
  const r = spawnSync(tsx, [fixture, 'prepare'], { env: cleanEnv({ FIXTURE_DIR: dir, FIXTURE_MODE: 'cycle' }), encoding: 'utf8' })
  t.equal(r.status, 1)
  t.match(r.stderr, /task dependency cycle: a -> b -> a/)
  t.notOk(existsSync(join(dir, 'prepared')), 'nothing ran')
})

t.test('Ctrl-C stops the running task, runs its cleanup, exits non-zero, leaves no child behind', async (t) => {
  const dir = t.testdir({})
  // Its own process group, so the test can signal the group as a terminal's Ctrl-C does.
  const child = spawn(tsx, [fixture, 'sleepy'], { env: cleanEnv({ FIXTURE_DIR: dir }), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never started sleeping:\n${out}`)), 60_000)
    const poll = setInterval(() => {
      if (out.includes('sleeping') && existsSync(join(dir, 'child.pid'))) {
        clearInterval(poll)
        clearTimeout(timer)
        resolve()
      }
    }, 50)
  })
  const sleepPid = Number(readFileSync(join(dir, 'child.pid'), 'utf8'))
  t.ok(alive(sleepPid), 'the child process runs')
  // Ctrl-C reaches the whole foreground group: tsx and the CLI it runs get SIGINT, and tsx relays its
  // copy too; one keypress arriving twice must not count as "Ctrl-C again".
  process.kill(-child.pid!, 'SIGINT')
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  t.equal(code, 130)
  t.match(out, /interrupted: task sleepy was stopped and cleaned up/)
  t.notMatch(out, /SIGINT again/, 'one keypress is one interrupt')
  t.ok(existsSync(join(dir, 'cleaned')), 'cleanup ran')
  t.notOk(alive(sleepPid), 'no child process left behind')
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
