// Where a throwaway (dev-mode) PGDATA lives: an in-memory filesystem, so a restart costs no disk I/O
// and nothing outlives a reboot. On Linux that is /dev/shm when it really is tmpfs.
//
// Size limit (TMPFS_SIZE): enforced by `checkFits` before any work starts, not by mounting a dedicated
// `tmpfs -o size=` per cluster. Mounting needs CAP_SYS_ADMIN (absent in unprivileged containers and for
// every non-root developer, so it would be a second, rarely tested code path), and a mount outlives a
// killed runner: the detached server survives the CLI, so `stop` in a later process would have to find
// and unmount it, and every crash would leave a mount behind. /dev/shm is already capped by the kernel
// (half the RAM by default), so the worst case of a wrong estimate is ENOSPC from the server, which the
// start-up log tail reports.
import { chmod, chown, mkdir, mkdtemp, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InsufficientSpaceError } from './errors.ts'
import { resolveServerUser, type ServerUser } from './run-as.ts'

/** TMPFS_MAGIC from linux/magic.h: what statfs reports for tmpfs (and /dev/shm). */
const TMPFS_MAGIC = 0x01021994


/** Persistent mode takes more than DATA_DIR: it is PERSISTENT_DATA=true, and that needs a stable session secret. */
const PERSISTENT_HINT = 'PERSISTENT_DATA=true, with DATA_DIR for where (the data is then kept, not thrown away on stop; `validate-env` names what the app needs set for it)'
export const DEFAULT_TMPFS_LIMIT_BYTES = 2 * 1024 ** 3

export interface MemoryFilesystem {
  /** The directory to create data directories in. */
  dir: string
  inMemory: boolean
  /** Set when no in-memory filesystem exists, saying what is used instead. */
  notice?: string
}

export async function findMemoryFilesystem(candidates: string[] = ['/dev/shm']): Promise<MemoryFilesystem> {
  for (const dir of candidates) {
    const fs = await statfs(dir).catch(() => undefined)
    if (fs && fs.type === TMPFS_MAGIC) return { dir, inMemory: true }
  }
  const dir = tmpdir()
  return {
    dir,
    inMemory: (await statfs(dir).catch(() => undefined))?.type === TMPFS_MAGIC,
    notice: `no in-memory filesystem found (${candidates.join(', ')} missing or not tmpfs); the throwaway cluster lives in ${dir} on disk, which is slower`,
  }
}

export interface DevDataDir extends MemoryFilesystem {
  /** The private directory holding pgdata (remove it to discard the cluster). */
  root: string
  /** root/pgdata, not yet created: initCluster or restoreCluster creates it. */
  pgdata: string
}

/**
 * A fresh private directory on the in-memory filesystem (mode 0700, owned by the server user so the
 * server can create pgdata in it). `user` (already resolved) wins over `runAs` (PG_RUN_AS).
 */
export async function createDevDataDir(opts: { user?: ServerUser; runAs?: string; candidates?: string[] } = {}): Promise<DevDataDir> {
  const user = opts.user ?? (await resolveServerUser(opts.runAs))
  const fs = await findMemoryFilesystem(opts.candidates)
  const root = await mkdtemp(join(fs.dir, 'rotv-'))
  if (user) await chown(root, user.uid, user.gid)
  return { ...fs, root, pgdata: join(root, 'pgdata') }
}

export interface CheckFitsOptions {
  /** A directory on the filesystem the data will be written to. */
  dir: string
  /** Estimated bytes the cluster will occupy (data + indexes + WAL). */
  neededBytes: number
  /** The configured limit (TMPFS_SIZE); default 2 GiB. */
  limitBytes?: number
  /** The setting that holds the limit, for the message (default TMPFS_SIZE). */
  setting?: string
}

/** Refuse, before any work is wasted, an estimate above the configured limit or the free space. */
export async function checkFits(opts: CheckFitsOptions): Promise<void> {
  const setting = opts.setting ?? 'TMPFS_SIZE'
  const limit = opts.limitBytes ?? DEFAULT_TMPFS_LIMIT_BYTES
  if (opts.neededBytes > limit) {
    throw new InsufficientSpaceError(
      `the database needs about ${formatBytes(opts.neededBytes)}, more than the in-memory limit ${setting}=${formatBytes(limit)}`,
      opts.neededBytes,
      limit,
      `raise ${setting} (e.g. ${setting}=${suggestSize(opts.neededBytes)}) if the machine has the memory, or keep the database on disk: ${PERSISTENT_HINT}`,
    )
  }
  const fs = await statfs(opts.dir)
  const free = fs.bavail * fs.bsize
  if (opts.neededBytes > free) {
    throw new InsufficientSpaceError(
      `the database needs about ${formatBytes(opts.neededBytes)}, but only ${formatBytes(free)} is free in ${opts.dir} (${setting}=${formatBytes(limit)} is not the constraint)`,
      opts.neededBytes,
      free,
      `free space in ${opts.dir} (leftover rotv-* directories from killed runs can go), or keep the database on disk: ${PERSISTENT_HINT}`,
    )
  }
}

/** Parse a size like "2G", "512M", "1.5GiB" or "1073741824" (bytes) as TMPFS_SIZE is written. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text)
  if (!m) throw new Error(`not a size: "${text}" (expected e.g. 2G, 512M)`)
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't']
  return Math.round(Number(m[1]) * unit)
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

function suggestSize(bytes: number): string {
  return `${Math.ceil((bytes * 1.25) / 1024 ** 3)}G`
}

/** mkdir -p, then make the leaf private (0700) and owned by the server user. */
export async function makePrivateDir(dir: string, user?: ServerUser): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  if (user) await chown(dir, user.uid, user.gid)
}
