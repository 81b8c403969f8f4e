// Which container engine to drive, and running it. podman first (rootful or rootless); docker when its
// client is installed AND its daemon answers (a docker client alone, as on these hosts, is not enough).
// ROTV_CONTAINER_ENGINE=podman|docker forces one. CONTAINERS_CONF and the like pass through the
// environment untouched, so a test-local containers.conf applies to every call.
import { execFile, spawn } from 'node:child_process'
import { displayCommand, logCommand, secretsFor } from '../process/display.ts'
import { ContainerEngineMissingError } from './errors.ts'

export interface Engine {
  name: 'podman' | 'docker'
  /** Rootless podman: container root is the invoking user; bind mounts need `podman unshare chown`. */
  rootless: boolean
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface EngineRunOptions {
  signal?: AbortSignal
  /** Data written to the command's stdin (then closed). */
  input?: string | Buffer
  /** Called with each output line (stdout and stderr interleaved as they arrive). */
  onLine?: (line: string) => void
  timeoutMs?: number
}

/** The engine to use, or undefined when none is installed and working. */
export async function detectEngine(forced = process.env.ROTV_CONTAINER_ENGINE): Promise<Engine | undefined> {
  const candidates: Array<Engine['name']> = forced === 'podman' || forced === 'docker' ? [forced] : ['podman', 'docker']
  for (const name of candidates) {
    // `podman version` needs no running service; `docker version` fails without a daemon, which is the point.
    const probe = await runEngine({ name, rootless: false }, ['version', '--format', '{{.Client.Version}}'], { timeoutMs: 20_000 }).catch(() => undefined)
    if (probe?.code !== 0) continue
    return { name, rootless: name === 'podman' && process.getuid?.() !== 0 }
  }
  return undefined
}

/** `forced` is ROTV_CONTAINER_ENGINE from the configuration (.env or the environment). */
export async function requireEngine(forced: string | undefined = process.env.ROTV_CONTAINER_ENGINE): Promise<Engine> {
  const engine = await detectEngine(forced)
  if (engine) return engine
  throw new ContainerEngineMissingError('no container engine: podman is not installed, and docker is missing or its daemon does not answer', {
    fix: 'install podman (`apt-get install podman uidmap runc slirp4netns`), or use the host runtime (RUNTIME=host)',
  })
}

/** Run `<engine> args...`; never rejects on a non-zero exit (the caller decides), only on spawn errors. */
export function runEngine(engine: Engine, args: string[], opts: EngineRunOptions = {}): Promise<RunResult> {
  // --verbose shows engine commands like every other command (they carry no secret: those go in a file).
  logCommand(displayCommand(engine.name, args, secretsFor()))
  return new Promise((resolve, reject) => {
    const child = spawn(engine.name, args, { stdio: ['pipe', 'pipe', 'pipe'], signal: opts.signal, timeout: opts.timeoutMs })
    let stdout = ''
    let stderr = ''
    const lines = lineSplitter(opts.onLine)
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      lines(d)
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
      lines(d)
    })
    child.once('error', reject)
    child.once('close', (code, signal) => {
      lines(null)
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input)
  })
}

/** True when the image exists locally. */
export async function imageExists(engine: Engine, image: string): Promise<boolean> {
  const r = await runEngine(engine, ['image', 'inspect', '--format', '{{.Id}}', image], { timeoutMs: 30_000 })
  return r.code === 0
}

/** Run a command that must succeed; a failure becomes `makeError(output)`. */
export async function mustRun(engine: Engine, args: string[], makeError: (output: string) => Error, opts: EngineRunOptions = {}): Promise<RunResult> {
  const r = await runEngine(engine, args, opts)
  if (r.code !== 0) throw makeError(`${r.stderr}${r.stdout}`.trim().split('\n').slice(-8).join('\n'))
  return r
}

function lineSplitter(onLine?: (line: string) => void): (chunk: string | null) => void {
  let rest = ''
  return (chunk) => {
    if (!onLine) return
    if (chunk === null) {
      if (rest) onLine(rest)
      rest = ''
      return
    }
    const parts = (rest + chunk).split('\n')
    rest = parts.pop() ?? ''
    for (const p of parts) onLine(p.replace(/\r$/, ''))
  }
}

/** execFile-style helper for short commands outside the engine (podman unshare, id). */
export function runPlain(cmd: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })
}
