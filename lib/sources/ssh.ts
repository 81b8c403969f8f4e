// The `ssh+podman` source (pg_dump inside a container on the remote host: the original setup) and the
// `ssh` source (pg_dump on the remote host itself). System ssh, so the user's ssh_config, agent,
// known_hosts and ProxyJump apply; BatchMode so a pull fails instead of hanging on a prompt.
import { spawn } from 'node:child_process'
import { spawnDump } from './child-dump.ts'
import { classifyFailure } from './errors.ts'
import { shellJoin, shellQuote } from './shell-quote.ts'
import type { DumpStream, OpenOptions, SnapshotSource, SourceSpec } from './types.ts'
import { PG_DUMP_FLAGS } from './pg-dump-flags.ts'
import { RotvError } from '../errors.ts'

export function sshSource(spec: SourceSpec): SnapshotSource {
  if (!spec.host) throw new RotvError(`source "${spec.name}" (${spec.kind}) has no host`, { fix: `set ${spec.name.toUpperCase()}_HOST` })
  if (spec.kind === 'ssh+podman' && !spec.container) {
    throw new RotvError(`source "${spec.name}" (ssh+podman) has no container`, { fix: `set ${spec.name.toUpperCase()}_CONTAINER` })
  }
  const describe = () => `${spec.kind} ${target(spec)} (${dumpDescription(spec)})`
  return {
    spec,
    describe,
    async open(opts: OpenOptions = {}): Promise<DumpStream> {
      const gzipOnWire = await decideWireCompression(spec, opts.signal)
      const remote = remoteCommand(spec, gzipOnWire)
      const args = [...sshBaseArgs(spec), ...(gzipOnWire ? [] : ['-C']), '--', spec.host!, remote]
      const child = spawnDump({
        label: 'ssh',
        command: 'ssh',
        args,
        signal: opts.signal,
        viaSsh: true,
        errorContext: { description: describe(), manualCommand: manualSshCommand(spec) },
      })
      return {
        stream: child.stdout,
        format: gzipOnWire ? 'gzip' : 'plain',
        meta: { kind: spec.kind, host: spec.host!, database: database(spec), description: describe() },
        done: child.done,
      }
    },
  }
}

/** The command line run on the remote host; exported for tests and for `--dry-run` style displays. */
export function remoteCommand(spec: SourceSpec, gzipOnWire: boolean): string {
  const dump = shellJoin(dumpArgv(spec))
  if (!gzipOnWire) return `exec ${dump}`
  // pipefail: without it the pipeline's status is gzip's, and a failed pg_dump would look like success.
  return `exec bash -c ${shellQuote(`set -o pipefail; ${dump} | gzip -1`)}`
}

export function dumpArgv(spec: SourceSpec): string[] {
  const pgDump = ['pg_dump', ...PG_DUMP_FLAGS, '-U', spec.dbUser ?? 'rotv']
  if (spec.dbHost) pgDump.push('-h', spec.dbHost)
  if (spec.dbPort) pgDump.push('-p', String(spec.dbPort))
  pgDump.push('--', database(spec))
  // No -t: a pseudo-terminal would rewrite line endings inside the dump.
  if (spec.kind === 'ssh+podman') return [spec.engine ?? 'podman', 'exec', spec.container!, ...pgDump]
  return pgDump
}

function database(spec: SourceSpec): string {
  return spec.database ?? 'rotv'
}

export function sshBaseArgs(spec: SourceSpec): string[] {
  const args: string[] = []
  if (spec.sshConfigFile) args.push('-F', spec.sshConfigFile)
  args.push(
    '-T',
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${spec.connectTimeoutSeconds ?? 15}`,
    // A dead link must end the pull instead of leaving it waiting forever.
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=4',
  )
  if (spec.port) args.push('-p', String(spec.port))
  if (spec.user) args.push('-l', spec.user)
  return args
}

async function decideWireCompression(spec: SourceSpec, signal?: AbortSignal): Promise<boolean> {
  const mode = spec.compressOnWire ?? 'auto'
  if (mode !== 'auto') return mode
  // One cheap round trip; it also surfaces connection/auth/host-key failures before any dump starts.
  const probe = 'command -v bash >/dev/null 2>&1 && command -v gzip >/dev/null 2>&1 && echo rotv-gzip-ok; true'
  const result = await runCaptured('ssh', [...sshBaseArgs(spec), '--', spec.host!, probe], signal)
  if (signal?.aborted) throw signal.reason ?? new Error('aborted')
  if (result.code !== 0) {
    throw classifyFailure(
      { description: `${spec.kind} ${target(spec)} (probe)`, stderr: result.stderr, manualCommand: manualSshCommand(spec) },
      { code: result.code, signal: null, viaSsh: true },
    )
  }
  return result.stdout.includes('rotv-gzip-ok')
}

function target(spec: SourceSpec): string {
  return `${spec.user ? `${spec.user}@` : ''}${spec.host}${spec.port ? `:${spec.port}` : ''}`
}

function dumpDescription(spec: SourceSpec): string {
  const where = spec.kind === 'ssh+podman' ? `${spec.engine ?? 'podman'} exec ${spec.container} ` : ''
  return `${where}pg_dump ${database(spec)} as ${spec.dbUser ?? 'rotv'}`
}

function manualSshCommand(spec: SourceSpec): string {
  const parts = ['ssh']
  if (spec.sshConfigFile) parts.push('-F', spec.sshConfigFile)
  if (spec.port) parts.push('-p', String(spec.port))
  parts.push(`${spec.user ? `${spec.user}@` : ''}${spec.host}`, 'true')
  return shellJoin(parts)
}

/** Runs a short command (own process group, like the dump itself), killed on abort or after 2 minutes. */
function runCaptured(command: string, args: string[], signal?: AbortSignal): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const kill = () => child.kill('SIGTERM')
    const timer = setTimeout(kill, 120_000)
    signal?.addEventListener('abort', kill, { once: true })
    child.once('error', (err) => (stderr += `\n${err.message}`))
    child.once('close', (code) => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', kill)
      resolve({ code: code ?? 255, stdout, stderr })
    })
  })
}
