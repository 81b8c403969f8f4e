// Starting and stopping the PostgreSQL server. The server runs DETACHED (pg_ctl forks it into its own
// session), so it outlives the CLI process that started it; a later process finds it again through
// postmaster.pid (serverStatus) and stops it with stopServer. Readiness is a real connection, polled.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, open, readFile, rm, stat, type FileHandle } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { CancelledError } from '../errors.ts'
import type { PgBinaries } from './binaries.ts'
import { existingCluster } from './cluster.ts'
import { ClusterDirError, PgCommandError, PortInUseError, ServerAlreadyRunningError, ServerStartError, ServerStopError } from './errors.ts'
import { makePrivateDir } from './memory-dir.ts'
import { resolveServerUser, runCommand, serverEnv, spawnIdentity, userCan, type ServerUser } from './run-as.ts'
import { spawnProcess } from '../process/index.ts'
import { isPostgresProcess, serverStatus } from './status.ts'

export type StopMode = 'smart' | 'fast' | 'immediate'

export interface StartServerOptions {
  binaries: PgBinaries
  pgdata: string
  port: number
  /** Unix socket directory. Default: a new private directory under os.tmpdir(), removed on stop. */
  socketDir?: string
  /** Server log (appended to). Written through a descriptor the runner opens, so it may live in a
   *  directory the server user cannot reach (e.g. under /root). */
  logFile: string
  /** PG_RUN_AS; only used when root. */
  runAs?: string
  /** Extra `-c` settings for this start only. */
  settings?: Record<string, string>
  /** Role used for the readiness check and connection(); default postgres. */
  superuser?: string
  /** The setting a PortInUseError tells the user to change (default PG_PORT). */
  portSetting?: string
  /** Give up (stop the server, throw with the log tail) after this long; default 60 s. */
  timeoutMs?: number
  /** Aborting stops the half-started server: nothing is left running. */
  signal?: AbortSignal
}

export interface RunningServer {
  pid: number
  port: number
  host: '127.0.0.1'
  socketDir: string
  pgdata: string
  logFile: string
  superuser: string
  /** node-postgres config for `db` (default postgres) over TCP on 127.0.0.1. */
  connection(db?: string): pg.ClientConfig
  stop(mode?: StopMode): Promise<void>
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const { binaries, port } = opts
  // Absolute: pg_ctl runs with cwd '/' as the server user, and /proc/PID/cwd is compared against it.
  const pgdata = resolve(opts.pgdata)
  const superuser = opts.superuser ?? 'postgres'
  const timeoutMs = opts.timeoutMs ?? 60_000
  throwIfAborted(opts.signal)
  const user = await resolveServerUser(opts.runAs)
  if (!(await existingCluster(pgdata, binaries))) {
    throw new ClusterDirError(`${pgdata} holds no PostgreSQL cluster`, { fix: 'initialize it first (initCluster), or point DATA_DIR at an existing cluster' })
  }
  const before = await serverStatus(pgdata)
  if (before.running) throw new ServerAlreadyRunningError(pgdata, before.pid!, before.port)
  // A killed server leaves postmaster.pid behind. PostgreSQL would cope, but our readiness loop reads
  // that file, so an old pid in it must not be mistaken for the new server.
  if (before.stalePidFile) {
    await rm(join(pgdata, 'postmaster.pid'), { force: true })
    await removeOwnSocketDir(before.socketDir)
  }
  await assertPortFree(port, opts.portSetting)

  // The log first: a log that cannot be written (a read-only data home) then fails before anything
  // else exists, and no socket directory is left behind in /tmp.
  const log = await openLog(opts.logFile)
  const logStart = (await log.stat()).size
  const ownSocketDir = opts.socketDir === undefined
  let socketDir: string
  try {
    socketDir = opts.socketDir === undefined ? await mkdtemp(join(tmpdir(), SOCKET_DIR_PREFIX)) : resolve(opts.socketDir)
    try {
      if (ownSocketDir || !(await stat(socketDir).catch(() => undefined))) await makePrivateDir(socketDir, user)
      else if (!(await userCan(user, '-w', socketDir))) throw new ServerStartError(`the server user ${user?.name} cannot write the socket directory ${socketDir}`, { fix: 'use a socket directory that user can write, or leave it unset' })
    } catch (err) {
      if (ownSocketDir) await rm(socketDir, { recursive: true, force: true })
      throw err
    }
  } catch (err) {
    await log.close()
    throw err
  }
  const postgresOptions = [
    '-p', String(port),
    '-k', shellQuote(socketDir),
    ...Object.entries(opts.settings ?? {}).flatMap(([k, v]) => ['-c', shellQuote(`${k}=${v}`)]),
    // Last, so no setting above can widen it; and on the command line, not only in rotv.conf:
    // loopback-only must hold whatever a (persistent) cluster's config files say.
    '-c', shellQuote('listen_addresses=127.0.0.1'),
  ].join(' ')
  let pgCtlFailure: string | undefined
  try {
    const code = await spawnPgCtl(binaries.pgCtl, ['start', '-W', '-s', '-D', pgdata, '-o', postgresOptions], user, log.fd)
    if (code !== 0) pgCtlFailure = `pg_ctl start exited with ${code}`
  } finally {
    await log.close()
  }

  const connection = (db = 'postgres'): pg.ClientConfig => ({ host: '127.0.0.1', port, user: superuser, database: db })
  const fail = async (reason: string): Promise<never> => {
    await stopHalfStarted(pgdata, binaries, user)
    if (ownSocketDir) await rm(socketDir, { recursive: true, force: true })
    throw startFailure(await logTail(opts.logFile, logStart), { port, reason, logFile: opts.logFile, portSetting: opts.portSetting })
  }

  const deadline = Date.now() + timeoutMs
  try {
    for (;;) {
      throwIfAborted(opts.signal)
      const st = await serverStatus(pgdata)
      if (st.running && st.pid) {
        const probe = await probeConnection(connection())
        if (probe instanceof Error) return await fail(`it runs, but refuses the superuser "${superuser}": ${probe.message}`)
        if (probe) {
          return {
            pid: st.pid, port, host: '127.0.0.1', socketDir, pgdata, logFile: opts.logFile, superuser, connection,
            stop: async (mode: StopMode = 'fast') => {
              await stopServer({ pgdata, binaries, runAs: opts.runAs, mode })
              if (ownSocketDir) await rm(socketDir, { recursive: true, force: true })
            },
          }
        }
      } else {
        if (pgCtlFailure) return await fail(pgCtlFailure)
        if (st.stalePidFile && !st.incompletePidFile) return await fail('the server exited')
        // No postmaster.pid yet (just forked) or already gone again (e.g. could not bind): the log says which.
        if (/\b(FATAL|PANIC):/.test(await logTail(opts.logFile, logStart))) return await fail('the server exited')
      }
      if (Date.now() > deadline) return await fail(`not accepting connections after ${Math.round(timeoutMs / 1000)} s`)
      await sleep(20, undefined, { signal: opts.signal })
    }
  } catch (err) {
    if (opts.signal?.aborted || (err as Error).name === 'AbortError') {
      await stopHalfStarted(pgdata, binaries, user)
      if (ownSocketDir) await rm(socketDir, { recursive: true, force: true })
      throw new CancelledError('start of PostgreSQL cancelled; the half-started server was stopped')
    }
    throw err
  }
}

export interface StopServerOptions {
  pgdata: string
  /** Not needed to stop (the postmaster is signalled directly); accepted so every lifecycle call takes the same options. */
  binaries?: PgBinaries
  runAs?: string
  /** fast (default): disconnect clients, clean shutdown. immediate: no shutdown checkpoint (crash recovery on next start). */
  mode?: StopMode
  timeoutMs?: number
}

/** Stop the server on PGDATA, whichever process started it. Removes a stale postmaster.pid. */
export async function stopServer(options: StopServerOptions): Promise<{ wasRunning: boolean; pid?: number }> {
  const opts = { ...options, pgdata: resolve(options.pgdata) }
  const st = await serverStatus(opts.pgdata)
  if (!st.running || !st.pid) {
    if (st.stalePidFile) await rm(join(opts.pgdata, 'postmaster.pid'), { force: true })
    await removeOwnSocketDir(st.socketDir)
    return { wasRunning: false }
  }
  const timeoutMs = opts.timeoutMs ?? 60_000
  const mode = opts.mode ?? 'fast'
  // The postmaster's own shutdown signals, as pg_ctl sends them; pg_ctl itself would add a process
  // spawn and poll for the exit only every 100 ms, which a cold start (stop, stage, start) pays twice.
  if (!signalPostmaster(st.pid, STOP_SIGNALS[mode])) {
    throw new ServerStopError(`PostgreSQL (pid ${st.pid}) on ${opts.pgdata} belongs to another user; this process may not stop it`, { fix: `stop it as its owner, or as root: kill -INT ${st.pid}` })
  }
  let gone = await waitGone(st.pid, timeoutMs)
  if (!gone && mode !== 'immediate') {
    signalPostmaster(st.pid, STOP_SIGNALS.immediate)
    gone = await waitGone(st.pid, 10_000)
  }
  if (!gone) {
    // Last resort, so no orphan keeps the port and memory: its children exit on postmaster death.
    signalPostmaster(st.pid, 'SIGKILL')
    if (!(await waitGone(st.pid, 10_000))) {
      throw new ServerStopError(`PostgreSQL (pid ${st.pid}) on ${opts.pgdata} did not stop`, { fix: `kill -9 ${st.pid}` })
    }
  }
  await rm(join(opts.pgdata, 'postmaster.pid'), { force: true })
  await removeOwnSocketDir(st.socketDir)
  return { wasRunning: true, pid: st.pid }
}

/** A port nothing listens on at 127.0.0.1 right now, for a private server (the kernel picks it). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no free port'))))
    })
  })
}

/** PortInUseError when something already listens on 127.0.0.1:port. */
export async function assertPortFree(port: number, setting?: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer()
    srv.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new PortInUseError(port, setting))
      else reject(err)
    })
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve()))
  })
}

/** node-postgres config for a running server (e.g. found with serverStatus by a later process). */
export function serverConnection(opts: { port: number; database?: string; superuser?: string }): pg.ClientConfig {
  return { host: '127.0.0.1', port: opts.port, user: opts.superuser ?? 'postgres', database: opts.database ?? 'postgres' }
}

/**
 * The error for a server that did not start, from the tail of its log. Another process can take the
 * port between assertPortFree and the server's bind: the server's own message is mapped too.
 */
export function startFailure(logTail: string, ctx: { port: number; reason: string; logFile: string; portSetting?: string }): PortInUseError | ServerStartError {
  if (/could not bind IPv4 address .*Address already in use|could not create lock file ".*\.s\.PGSQL\.\d+\.lock"/i.test(logTail)) {
    return new PortInUseError(ctx.port, ctx.portSetting, 'the server could not bind it')
  }
  return new ServerStartError(`PostgreSQL did not start on port ${ctx.port} (${ctx.reason}); last lines of ${ctx.logFile}:\n${logTail}`, { fix: `read ${ctx.logFile} for the cause` })
}

const SOCKET_DIR_PREFIX = 'rotv-pgsock-'

async function spawnPgCtl(pgCtl: string, args: string[], user: ServerUser | undefined, logFd: number): Promise<number | null> {
  // Its own process group: a Ctrl-C meant for the CLI must not reach the server before pg_ctl's own
  // setsid(). Its output goes straight to the log descriptor.
  const child = spawnProcess(pgCtl, args, { ...spawnIdentity(user), env: serverEnv(), stdio: ['ignore', logFd, logFd] })
  const r = await child.done
  if (r.spawnError) throw new PgCommandError(`could not run ${pgCtl}: ${r.stderr.trim()}`, { fix: 'check PG_BIN_DIR, or reinstall with `npm ci`' })
  return r.exitCode
}

/**
 * true: ready. false: not yet (refused, starting up, recovering). An Error: the server answers but
 * rejects this role or database, which waiting will not fix.
 */
async function probeConnection(config: pg.ClientConfig): Promise<boolean | Error> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 2000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch (err) {
    const code = (err as { code?: unknown }).code
    // SQLSTATE class 28 (authorization) and 3D000 (no such database) are final; 57P03 is "starting up".
    if (typeof code === 'string' && (code.startsWith('28') || code === '3D000')) return err as Error
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

/** After a failed or cancelled start: stop whatever postmaster came up, waiting briefly for it to appear. */
async function stopHalfStarted(pgdata: string, binaries: PgBinaries, user: ServerUser | undefined): Promise<void> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const st = await serverStatus(pgdata)
    if (st.running) {
      await stopServer({ pgdata, binaries, runAs: user?.name, mode: 'immediate', timeoutMs: 30_000 }).catch(() => {})
      return
    }
    // No postmaster.pid: either it has not been written yet or the server is already gone.
    if (Date.now() > deadline || st.stalePidFile) return
    await sleep(50)
  }
}

/** smart: wait for clients to leave; fast: end their sessions, clean shutdown; immediate: no shutdown checkpoint. */
const STOP_SIGNALS: Record<StopMode, NodeJS.Signals> = { smart: 'SIGTERM', fast: 'SIGINT', immediate: 'SIGQUIT' }

/** False only when the process belongs to someone else (EPERM); a process already gone is fine. */
function signalPostmaster(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM'
  }
  return true
}

/**
 * Until the postmaster has fully exited: gone, or a zombie (by then its files, the listening socket
 * among them, are closed). Not "its cmdline is empty": that happens earlier in the exit, while the
 * port may still be held, and a restart on the same port would then fail.
 */
async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (await stillExiting(pid)) {
    if (Date.now() > deadline) return false
    await sleep(10)
  }
  return true
}

async function stillExiting(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  // no /proc (not Linux): whether it is still our postgres
  if (stat === undefined) return existsSync('/proc/self') ? false : isPostgresProcess(pid)
  // the state is the field after the parenthesised command name
  if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') return false
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  // empty: half-way through its exit; another program's: the pid was reused, ours is long gone
  return cmdline === '' || (cmdline.split('\0')[0] ?? '').includes('postgres')
}

/** Open the server log for appending; a directory that cannot be written is a ServerStartError with the fix. */
async function openLog(logFile: string): Promise<FileHandle> {
  try {
    await mkdir(dirname(resolve(logFile)), { recursive: true })
    return await open(logFile, 'a', 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOENT' && code !== 'ENOTDIR') throw err
    const why = code === 'EROFS' ? 'is on a read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'is not writable' : 'cannot be created'
    throw new ServerStartError(`the PostgreSQL log ${logFile} ${why} (${code})`, {
      fix: `make ${dirname(resolve(logFile))} writable, or set ROTV_HOME to a writable directory`,
      cause: err,
    })
  }
}

async function logTail(logFile: string, from: number, lines = 25): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '')
  return text.slice(from).trimEnd().split('\n').slice(-lines).join('\n')
}

async function removeOwnSocketDir(dir: string | undefined): Promise<void> {
  if (dir && basename(dir).startsWith(SOCKET_DIR_PREFIX) && dirname(dir) === tmpdir()) await rm(dir, { recursive: true, force: true })
}

function shellQuote(s: string): string {
  // pg_ctl hands -o to /bin/sh.
  return `'${s.replace(/'/g, `'\\''`)}'`
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError('cancelled')
}
