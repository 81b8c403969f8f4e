// Typed failures of a dump source. Every message carries the remote (or local) stderr, because that is
// what the user needs to see; every error carries the fix.
import { RotvError } from '../errors.ts'

export interface SourceErrorContext {
  /** e.g. "ssh root@db.example.org:22 (podman exec rotv-db pg_dump rotv)" */
  description: string
  stderr: string
  /** Command that reproduces the connection by hand, when there is one. */
  manualCommand?: string
}

export class SourceError extends RotvError {
  readonly stderr: string
  constructor(what: string, ctx: SourceErrorContext, fix: string) {
    super(`${what} (${ctx.description})${formatStderr(ctx.stderr)}`, { fix })
    this.stderr = ctx.stderr
  }
}

export class SshConnectionRefusedError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('ssh: connection refused', ctx, 'check the host and port (e.g. PRODUCTION_HOST / PRODUCTION_PORT) and that sshd runs there')
  }
}

export class SshUnreachableError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('ssh: host unreachable (timeout, unknown name or no route)', ctx, 'check the host name, your VPN/network, and ConnectTimeout')
  }
}

export class SshAuthError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('ssh: authentication refused', ctx,
      `load the right key (ssh-add) or set the user; try by hand: ${ctx.manualCommand ?? 'ssh USER@HOST true'}`)
  }
}

export class SshHostKeyError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('ssh: host key verification failed (unknown or changed host key; pulls run in batch mode and never prompt)', ctx,
      `connect once by hand to check and accept the key: ${ctx.manualCommand ?? 'ssh USER@HOST true'} (or add it to ~/.ssh/known_hosts)`)
  }
}

export class SshConnectionLostError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('ssh: the connection dropped before the dump finished', ctx, 'check the network (VPN, Wi-Fi) and run the seed again')
  }
}

export class DatabaseNotFoundError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('pg_dump: database does not exist', ctx, 'set the database name (e.g. PRODUCTION_DB_NAME) to one that exists on the server')
  }
}

export class DatabaseAuthError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('pg_dump: the database refused the login', ctx, 'check the database user (e.g. PRODUCTION_DB_USER) and its password')
  }
}

export class ContainerNotFoundError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('the PostgreSQL container was not found or is not running on the remote host', ctx, 'check the container name (e.g. PRODUCTION_CONTAINER) with `podman ps` there')
  }
}

export class ContainerEngineUnavailableError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('the container engine on the remote host does not answer', ctx, 'check the engine setting (podman or docker) and that its service runs there')
  }
}

export class RemoteCommandMissingError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('a command the pull needs is missing on the far side', ctx, 'install the PostgreSQL client (pg_dump) / container engine there, or choose another source kind')
  }
}

export class PgDumpVersionError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('pg_dump is older than the server it dumps', ctx, 'use a pg_dump of the server\'s major version or newer (e.g. the ssh+podman source runs the container\'s own)')
  }
}

export class RemoteKilledError extends SourceError {
  constructor(ctx: SourceErrorContext) {
    super('the dump was killed before it finished', ctx, 'run the seed again; if it repeats, check memory/disk on the server and the network')
  }
}

export class DumpFailedError extends SourceError {
  constructor(ctx: SourceErrorContext, exitInfo: string) {
    super(`the dump failed (${exitInfo})`, ctx, 'read the error above; run the seed again once it is fixed')
  }
}

/** Maps a failed run onto the typed error a user can act on. `sshExit` is ssh's own 255, when ssh ran. */
export function classifyFailure(ctx: SourceErrorContext, exit: { code: number | null; signal: string | null; viaSsh: boolean }): SourceError {
  const s = ctx.stderr
  if (exit.viaSsh && exit.code === 255) {
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known/i.test(s)) return new SshHostKeyError(ctx)
    if (/Connection refused/i.test(s)) return new SshConnectionRefusedError(ctx)
    if (/Permission denied \(|Too many authentication failures|Authentication failed/i.test(s)) return new SshAuthError(ctx)
    if (/closed by remote host|Connection reset|Broken pipe|Timeout, server .* not responding|client_loop|Connection closed by/i.test(s)) return new SshConnectionLostError(ctx)
    if (/timed out|Could not resolve hostname|No route to host|Network is unreachable|Name or service not known/i.test(s)) return new SshUnreachableError(ctx)
    // 255 is ssh's own failure (a remote command's status is passed through); when the session is cut
    // ssh sometimes exits before it prints why, so a bare 255 is a lost connection too.
    return new SshConnectionLostError(ctx)
  }
  if (/database "[^"]*" does not exist/i.test(s)) return new DatabaseNotFoundError(ctx)
  if (/password authentication failed|role "[^"]*" does not exist|no password supplied|no pg_hba\.conf entry/i.test(s)) return new DatabaseAuthError(ctx)
  if (/no such container|container .* is not running|container state improper/i.test(s)) return new ContainerNotFoundError(ctx)
  if (/Cannot connect to the (Docker|Podman) daemon|cannot connect to Podman|Is the docker daemon running/i.test(s)) return new ContainerEngineUnavailableError(ctx)
  if (/server version mismatch/i.test(s)) return new PgDumpVersionError(ctx)
  // 127/126: the shell could not find or run a command (pg_dump, podman, bash, gzip) on that side.
  if (exit.code === 127 || exit.code === 126) {
    return new RemoteCommandMissingError(ctx)
  }
  // 128+N is how a shell reports a child killed by signal N (137 KILL, 143 TERM, 129 HUP, 141 PIPE).
  if (exit.signal || (exit.code !== null && exit.code > 128 && exit.code < 160) || /Killed|terminated by signal|Broken pipe/i.test(s)) {
    return new RemoteKilledError(ctx)
  }
  return new DumpFailedError(ctx, exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`)
}

function formatStderr(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter(Boolean)
  if (lines.length === 0) return ''
  const tail = lines.slice(-15)
  return `:\n  ${tail.join('\n  ')}`
}
