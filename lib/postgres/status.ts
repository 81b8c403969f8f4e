// Is a server running on this PGDATA? Answered from postmaster.pid, so it also works for a server
// started by an earlier (or another) process, and from pg_control for "was it shut down cleanly?".
import { readFile, readlink, realpath } from 'node:fs/promises'
import { endianness } from 'node:os'
import { join } from 'node:path'
import { processAlive as isAlive } from '../process/index.ts'

export interface ServerStatus {
  running: boolean
  pid?: number
  port?: number
  /** The unix socket directory the server uses. */
  socketDir?: string
  /** listen_addresses as the server recorded it. */
  host?: string
  /** postmaster.pid's status line: "ready", "starting", "stopping" or "standby". */
  state?: string
  /** A postmaster.pid whose process is gone (killed server): the next start replaces it. */
  stalePidFile?: boolean
  /**
   * With stalePidFile: the file has no complete first line. A starting postmaster creates it empty and
   * writes it a moment later, so while a start is awaited this means "not yet", not "exited".
   */
  incompletePidFile?: boolean
}

export async function serverStatus(pgdata: string): Promise<ServerStatus> {
  const text = await readFile(join(pgdata, 'postmaster.pid'), 'utf8').catch((err: NodeJS.ErrnoException) => {
    // Only "no such file" means "not running"; unreadable must not pass for stopped.
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined
    throw err
  })
  if (text === undefined) return { running: false }
  // Lines: pid, datadir, start time, port, socket dir, listen address, shmem key, status.
  const lines = text.split('\n')
  const pid = Number(lines[0])
  if (lines.length < 2 || !Number.isInteger(pid) || pid <= 0) return { running: false, stalePidFile: true, incompletePidFile: true }
  const port = Number(lines[3])
  const info = {
    pid,
    port: Number.isInteger(port) && port > 0 ? port : undefined,
    socketDir: lines[4]?.trim() || undefined,
    host: lines[5]?.trim() || undefined,
    state: lines[7]?.trim() || undefined,
  }
  if (!(await isPostgresProcess(pid, pgdata))) return { running: false, stalePidFile: true, ...info }
  return { running: true, ...info }
}

/**
 * True when `pid` is alive and (where /proc tells) is a postgres process, and with `pgdata`, the
 * postmaster of that very PGDATA: after a kill -9 and a reboot, the pid in a stale postmaster.pid may
 * belong to something else, even to another cluster's postmaster.
 */
export async function isPostgresProcess(pid: number, pgdata?: string): Promise<boolean> {
  if (!isAlive(pid)) return false
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined)
  if (cmdline === undefined) return isAlive(pid)
  // A zombie has an empty cmdline: it has exited, only its parent has not reaped it yet.
  if (cmdline === '' || !(cmdline.split('\0')[0] ?? '').includes('postgres')) return false
  if (pgdata === undefined) return true
  // The postmaster's working directory is its PGDATA (it chdirs there at start-up).
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined)
  if (cwd === undefined) return true // not ours to inspect (another user, non-root): trust the name
  const want = await realpath(pgdata).catch(() => pgdata)
  return cwd === want
}


/** DBState from pg_control (src/include/catalog/pg_control.h), stable since PostgreSQL 9.x. */
export const DB_STATES = ['starting up', 'shut down', 'shut down in recovery', 'shutting down', 'in crash recovery', 'in archive recovery', 'in production'] as const
export type ClusterState = (typeof DB_STATES)[number] | 'unknown'

/**
 * The cluster state pg_controldata would print as "Database cluster state" (the embedded binaries have
 * no pg_controldata). ControlFileData starts with system_identifier (8 bytes), pg_control_version (4),
 * catalog_version_no (4), then state (4), in the machine's byte order.
 */
export async function clusterState(pgdata: string): Promise<ClusterState> {
  const buf = await readFile(join(pgdata, 'global', 'pg_control'))
  if (buf.length < 20) return 'unknown'
  const le = endianness() === 'LE'
  const controlVersion = le ? buf.readUInt32LE(8) : buf.readUInt32BE(8)
  // 1300 for PostgreSQL 13-17; anything far off means this is not a pg_control we understand.
  if (controlVersion < 900 || controlVersion > 10_000) return 'unknown'
  const state = le ? buf.readInt32LE(16) : buf.readInt32BE(16)
  return DB_STATES[state] ?? 'unknown'
}
