// Running the real CLI (npx tsx Taskfile.ts ...) as a child process with an isolated data home, ports
// and env file, the way a user or a CI script runs it.
import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'

export const repo = join(import.meta.dirname, '..', '..')
export const tsx = join(repo, 'node_modules', '.bin', 'tsx')
export const taskfile = join(repo, 'Taskfile.ts')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  all: string
}

/** An environment with nothing of the developer's: only PATH/HOME and what the test sets. */
export function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // RUNTIME=host: a developer's own built image must not turn host-runtime tests into container runs.
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', CI: 'true', RUNTIME: 'host', ...extra }
}

export function runCliSync(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): CliResult {
  const r = spawnSync(tsx, [taskfile, ...args], { cwd: repo, env, encoding: 'utf8', timeout: timeoutMs })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: `${r.stdout}${r.stderr}` }
}

export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(tsx, [taskfile, ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr, all: stdout + stderr }))
  })
}
