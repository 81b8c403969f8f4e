// kill -9 of the runner in the middle of a cold start (PostgreSQL up, the import running, no run state
// written yet): `status` sees what it left, `stop` cleans it up (the port is free, the in-memory
// directory gone), and the next start works. Only this data home's leftovers are touched.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { isolatedEnv, repo, runCliSync, taskfile, tsx } from './helpers/cli.ts'
import { freePort } from './helpers/production-postgres.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const pidAlive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }

t.test('kill -9 during a cold import, then status, stop and start', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'rotv-test-home-'))
  const pgPort = await freePort()
  const env = isolatedEnv({ ROTV_HOME: home, APP_PORT: String(await freePort()), PG_PORT: String(pgPort) })
  t.teardown(() => {
    runCliSync(['stop'], env)
    rmSync(home, { recursive: true, force: true })
  })
  t.equal(runCliSync(['seed', 'demo'], env).code, 0)

  const runner = spawn(tsx, [taskfile, 'start', '--db-only', 'demo'], { cwd: repo, env, stdio: 'ignore' })
  const recordFile = join(home, 'run', 'starting.json')
  let postmasterPid: number | undefined
  let record: { runnerPid: number; pgdata: string; scratchDir?: string } | undefined
  for (const deadline = Date.now() + 120_000; Date.now() < deadline && postmasterPid === undefined; await sleep(20)) {
    if (!existsSync(recordFile)) continue
    record = JSON.parse(readFileSync(recordFile, 'utf8'))
    // a postmaster accepting connections ("ready" on line 8), not initdb's bootstrap backend
    const lines = existsSync(join(record!.pgdata, 'postmaster.pid')) ? readFileSync(join(record!.pgdata, 'postmaster.pid'), 'utf8').split('\n') : []
    if (lines[7]?.trim() === 'ready') postmasterPid = Number(lines[0])
  }
  t.ok(postmasterPid, 'PostgreSQL was started by the runner')
  t.notOk(existsSync(join(home, 'run', 'host.json')), 'killed before the run state was written (the case the record is for)')
  // the runner itself (npx tsx's child), not only the tsx wrapper
  process.kill(record!.runnerPid, 'SIGKILL')
  runner.kill('SIGKILL')
  await new Promise((r) => runner.once('exit', r))
  for (let i = 0; i < 100 && pidAlive(record!.runnerPid); i++) await sleep(20)
  const pidFile = join(record!.pgdata, 'postmaster.pid')
  postmasterPid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : undefined
  t.ok(postmasterPid && pidAlive(postmasterPid), 'the fault is real: a postmaster outlived its runner')

  const status = runCliSync(['status'], env)
  t.equal(status.code, 0, status.all)
  t.match(status.all, new RegExp(`a start was interrupted .* left PostgreSQL running on port ${pgPort}[\\s\\S]*Taskfile\\.ts stop`))

  const stop = runCliSync(['stop'], env)
  t.equal(stop.code, 0, stop.all)
  t.match(stop.all, /cleaned up after a start that was interrupted/)
  for (let i = 0; i < 100 && pidAlive(postmasterPid!); i++) await sleep(50)
  t.notOk(pidAlive(postmasterPid!), 'its PostgreSQL is stopped')
  if (record?.scratchDir) t.notOk(existsSync(record.scratchDir), 'its in-memory directory is gone')
  t.notOk(existsSync(recordFile), 'and the record')

  const again = runCliSync(['start', '--db-only', 'demo'], env)
  t.equal(again.code, 0, `the next start works: ${again.all}`)
  t.match(again.all, /database ready at postgres:\/\/postgres@127\.0\.0\.1:\d+\/rotv/)
})
