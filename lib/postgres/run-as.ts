// Who runs the PostgreSQL server, and how commands are run as that user. PostgreSQL refuses to run as
// root, so a root runner hands the server to an unprivileged user; a non-root runner runs it itself.
import { readFile } from 'node:fs/promises'
import { ProcessError, run } from '../process/index.ts'
import { PgCommandError, RunAsUserError } from './errors.ts'

export interface ServerUser {
  name: string
  uid: number
  gid: number
}

/**
 * The user the server runs as, or undefined when the runner is not root (then everything runs as the
 * current user, and `runAs` is ignored: a shared .env with PG_RUN_AS must not break non-root machines).
 * Root default: `postgres` when it exists, else `nobody`.
 */
export async function resolveServerUser(runAs?: string): Promise<ServerUser | undefined> {
  if (!isRoot()) return undefined
  if (runAs !== undefined && runAs !== '') {
    const user = await lookupUser(runAs)
    if (!user) throw new RunAsUserError(`user "${runAs}" (PG_RUN_AS) does not exist`, { fix: `create it (\`useradd --system ${runAs}\`) or set PG_RUN_AS to an existing unprivileged user` })
    if (user.uid === 0) throw new RunAsUserError(`PG_RUN_AS=${runAs} is root; PostgreSQL refuses to run as root`, { fix: 'set PG_RUN_AS to an unprivileged user such as postgres' })
    return user
  }
  const user = (await lookupUser('postgres')) ?? (await lookupUser('nobody'))
  if (!user) throw new RunAsUserError('running as root, but neither a "postgres" nor a "nobody" user exists to run the server', { fix: 'create one (`useradd --system postgres`) or set PG_RUN_AS' })
  return user
}

export function isRoot(): boolean {
  return process.getuid?.() === 0
}

export interface RunOptions {
  user?: ServerUser
  signal?: AbortSignal
  /** Extra environment for the command (on top of the sanitized one). */
  env?: Record<string, string>
  timeoutMs?: number
}

/** Run a command (as `user` when given) and return its output; failures become PgCommandError. */
export async function runCommand(cmd: string, args: string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  try {
    const r = await run(cmd, args, { ...spawnIdentity(opts.user), env: serverEnv(opts.env), signal: opts.signal, timeoutMs: opts.timeoutMs })
    return { stdout: r.stdout, stderr: r.stderr }
  } catch (err) {
    // a cancel stays a CancelledError; a failure says as whom it ran
    if (!(err instanceof ProcessError)) throw err
    throw new PgCommandError(`${err.message}${opts.user ? ` (as ${opts.user.name})` : ''}`, { fix: err.fix, cause: err })
  }
}

/** Spawn options that drop to `user` (libuv also clears root's supplementary groups). */
export function spawnIdentity(user?: ServerUser): { user?: { uid: number; gid: number }; cwd?: string } {
  // cwd '/': the runner's cwd may be under /root, which the server user cannot enter.
  return user ? { user: { uid: user.uid, gid: user.gid }, cwd: '/' } : {}
}

/**
 * The environment for server commands: the caller's, minus libpq/server variables. A developer's PGPORT,
 * PGDATA or PGHOST must not silently change which server starts or where.
 */
export function serverEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v
  if (isRoot()) env.HOME = '/'
  return { ...env, ...extra }
}

/** True when `user` can do `test FLAG path` (e.g. -x to traverse/execute, -w to write). */
export async function userCan(user: ServerUser | undefined, flag: '-x' | '-w' | '-r', path: string): Promise<boolean> {
  if (!user) return true
  return (await run('test', [flag, path], { ...spawnIdentity(user), nothrow: true })).ok
}

async function lookupUser(name: string): Promise<ServerUser | undefined> {
  // getent covers NSS sources (LDAP, sssd); /etc/passwd is the fallback where getent is missing.
  const getent = await run('getent', ['passwd', name], { nothrow: true })
  const line = (getent.ok ? getent.stdout.trim() : undefined) ?? (await readFile('/etc/passwd', 'utf8').catch(() => '')).split('\n').find((l) => l.startsWith(`${name}:`))
  if (!line) return undefined
  const f = line.split(':')
  const uid = Number(f[2])
  const gid = Number(f[3])
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return undefined
  return { name, uid, gid }
}
