// lib/process against real process trees: a cancelled command leaves no process behind (ps), one that
// ignores SIGTERM is killed, a secret never reaches argv or --verbose output, and failures are typed.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import { join } from 'node:path'
import t from 'tap'
import { CancelledError } from '../lib/errors.ts'
import { ProcessError, SecretOnCommandLineError, processAlive, registerSecrets, run, setVerbose, spawnProcess } from '../lib/process/index.ts'

/** Processes whose command line holds `marker`, from ps (not /proc: the check must not share the code under test). */
function survivors(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(marker))
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}

// A tree three deep: sh -> (sh -> sleep) and a sleep that left the process group with setsid, and
// one that ignores SIGTERM. Unique sleep lengths mark them for ps.
const tree = (n: number) =>
  `sleep ${n}1 & setsid sleep ${n}2 & sh -c 'trap "" TERM; sleep ${n}3' & echo started; wait`

t.test('run: aborting stops the whole tree, setsid and SIGTERM-ignoring members included', async (t) => {
  const ac = new AbortController()
  const lines: string[] = []
  const p = run('sh', ['-c', tree(987650)], { signal: ac.signal, graceMs: 300, onLine: (l) => lines.push(l) })
  await until(() => lines.includes('started') && survivors(' sleep 98765').length === 5)
  ac.abort()
  await t.rejects(p, CancelledError)
  await until(() => survivors(' sleep 98765').length === 0, 8_000).catch(() => {})
  t.same(survivors(' sleep 98765'), [], 'no process of the tree is left')
})

t.test('spawnProcess: the streaming primitive stops its tree the same way, and reports how it ended', async (t) => {
  const ac = new AbortController()
  const child = spawnProcess('sh', ['-c', tree(987660)], { signal: ac.signal, graceMs: 300 })
  await until(() => survivors(' sleep 98766').length === 5)
  ac.abort()
  const result = await child.done
  t.equal(result.cancelled, true)
  t.equal(result.ok, false)
  t.equal(result.signal, 'SIGTERM')
  await until(() => survivors(' sleep 98766').length === 0, 8_000).catch(() => {})
  t.same(survivors(' sleep 98766'), [], 'no process of the tree is left')

  const streamed = spawnProcess('sh', ['-c', 'seq 1 100000; echo oops >&2; exit 4'])
  let bytes = 0
  streamed.stdout!.on('data', (d: Buffer) => (bytes += d.length))
  const r = await streamed.done
  t.equal(bytes, 588895, 'the whole stream arrived')
  t.match(r, { exitCode: 4, ok: false, stdout: '', stderr: 'oops\n', command: "sh -c $'seq 1 100000; echo oops >&2; exit 4'" })
})

t.test('run: onLine hands each stream its own whole lines, a partial line never joined to the other stream', async (t) => {
  const seen: Array<[string, string]> = []
  const script = 'printf out-a; printf "err-1\\n" >&2; sleep 0.1; printf "out-b\\r\\nlast-out"; printf last-err >&2'
  const r = await run('sh', ['-c', script], { onLine: (line, stream) => seen.push([stream, line]) })
  t.equal(r.ok, true)
  t.same(seen.filter(([s]) => s === 'stdout').map(([, l]) => l), ['out-aout-b', 'last-out'], 'stdout lines, CR LF ends and the unterminated last line included')
  t.same(seen.filter(([s]) => s === 'stderr').map(([, l]) => l), ['err-1', 'last-err'])
})

t.test('run: one result shape, typed failures with the cause and a fix', async (t) => {
  const ok = await run('sh', ['-c', 'echo out; echo err >&2'])
  t.match(ok, { exitCode: 0, signal: null, ok: true, stdout: 'out\n', stderr: 'err\n', cancelled: false, timedOut: false })
  t.type(ok.durationMs, 'number')

  const failed = await run('sh', ['-c', 'echo first >&2; echo last >&2; exit 3']).catch((e: unknown) => e)
  t.type(failed, ProcessError)
  t.match((failed as ProcessError).message, /`sh -c .*` exited with 3: first\nlast/)
  t.match((failed as ProcessError).fix, /by hand/)
  t.equal((failed as ProcessError).result.exitCode, 3)
  t.equal((await run('sh', ['-c', 'exit 5'], { nothrow: true })).exitCode, 5, 'nothrow resolves with the result')

  const missing = await run('rotv-no-such-program', ['x']).catch((e: unknown) => e)
  t.type(missing, ProcessError)
  t.match((missing as ProcessError).message, '`rotv-no-such-program x` not found')
  t.match((missing as ProcessError).fix, 'install rotv-no-such-program, or put it on PATH')

  const slow = await run('sleep', ['30'], { timeoutMs: 200 }).catch((e: unknown) => e)
  t.type(slow, ProcessError)
  t.match((slow as ProcessError).message, /`sleep 30` timed out/)
})

t.test('secrets: refused on argv, passed in the environment, redacted from --verbose and messages', async (t) => {
  const secret = 'process-test-secret-9f3a'
  const marker = t.testdir()
  const refused = await run('sh', ['-c', `touch ${join(marker, 'ran')}`, secret], { secrets: [secret] }).catch((e: unknown) => e)
  t.type(refused, SecretOnCommandLineError, 'a secret among the arguments is refused')
  t.match((refused as Error).message, /would show it/)
  t.notOk(existsSync(join(marker, 'ran')), 'and nothing ran')
  t.throws(() => spawnProcess('echo', [`--password=${secret}`], { secrets: [secret] }), SecretOnCommandLineError)

  const out = new PassThrough()
  let printed = ''
  out.on('data', (d) => (printed += d))
  setVerbose(true, out)
  t.teardown(() => setVerbose(false))
  registerSecrets([secret])
  const child = spawnProcess('sh', ['-c', 'echo "$ROTV_TEST_SECRET" >&2; sleep 5'], { env: { ...process.env, ROTV_TEST_SECRET: secret } })
  await child.started
  await until(() => existsSync(`/proc/${child.pid}/environ`))
  t.ok(readFileSync(`/proc/${child.pid}/environ`, 'utf8').includes(secret), 'the child has it in its environment')
  t.notOk(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(secret), 'and not on its command line')
  await child.stop()

  const failed = await run('sh', ['-c', 'echo "token=$ROTV_TEST_SECRET" >&2; exit 1'], { env: { ...process.env, ROTV_TEST_SECRET: secret } }).catch((e: unknown) => e)
  t.match((failed as Error).message, 'token=***', 'a command that echoes the secret has it redacted in the error')
  t.notMatch((failed as Error).message, secret)
  t.match(printed, `$ sh -c $'echo "$ROTV_TEST_SECRET" >&2; sleep 5'`, '--verbose prints each command as zx does')
  t.match(printed, '$ sh -c ')
  t.notMatch(printed, secret, 'and never a secret')
})

t.test('no rc file runs in front of a command, even in a minimal environment (no SHLVL: bash\'s "started by sshd" guess)', async (t) => {
  const home = t.testdir({})
  const marker = join(home, 'bashrc-ran')
  writeFileSync(join(home, '.bashrc'), `touch '${marker}'\n`)
  // what the test helpers and cron give a command: PATH and HOME, nothing else
  const env = { PATH: process.env.PATH, HOME: home }
  const r = await run('getent', ['passwd', 'root'], { env })
  t.match(r.stdout, /^root:/)
  const s = spawnProcess('true', [], { env })
  await s.done
  t.notOk(existsSync(marker), '~/.bashrc was not sourced')
})

t.test('processAlive: a zombie (exited, not yet reaped) is not alive; a running process and one of another user are', async (t) => {
  // The zombie's parent (sh exec'd into sleep) never waits for it, as a lax init does not.
  const parent = spawnProcess('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'])
  t.teardown(() => parent.stop())
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))))
  let state = ''
  for (let i = 0; i < 100 && state !== 'Z'; i++) {
    await new Promise((r) => setTimeout(r, 20))
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  }
  t.equal(state, 'Z', 'the child is a zombie')
  t.doesNotThrow(() => process.kill(pid, 0), 'kill(pid, 0) still succeeds on it')
  t.equal(processAlive(pid), false, 'processAlive says it has exited')
  t.equal(processAlive(process.pid), true)
  t.equal(processAlive(1), true, "PID 1 (root's, or not ours to signal) is alive")
  t.equal(processAlive(undefined), false)
})
