// Creating a cluster (initdb) and writing the configuration every server of ours runs with:
// trust auth on the unix socket and loopback only, and either fast throwaway settings (dev mode,
// PGDATA in memory) or PostgreSQL's durable defaults (persistent mode, PGDATA kept on disk).
import { createHash } from 'node:crypto'
import { chmod, chown, mkdir, readdir, readFile, realpath, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { PgBinaries } from './binaries.ts'
import { ClusterDirError, NotAccessibleError } from './errors.ts'
import { makePrivateDir } from './memory-dir.ts'
import { resolveServerUser, runCommand, userCan, type ServerUser } from './run-as.ts'

export type ClusterMode = 'dev' | 'persistent'

/**
 * Dev mode trades durability for speed: the data is a throwaway copy that a crash or reboot may lose.
 * WAL lives in memory too, so max_wal_size stays moderate: with fsync off a checkpoint is a memory
 * copy, cheap, while a huge WAL would eat the TMPFS_SIZE budget.
 */
export const DEV_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  wal_level: 'minimal',
  max_wal_senders: '0',
  archive_mode: 'off',
  checkpoint_timeout: '1h',
  max_wal_size: '1GB',
  shared_buffers: '256MB',
}

/** Persistent mode keeps PostgreSQL's durable defaults; only the access rules are ours. */
export const PERSISTENT_SETTINGS: Readonly<Record<string, string>> = {}

/** Always: loopback only. The port and socket directory are given at start (startServer). */
const ACCESS_SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: '127.0.0.1',
  unix_socket_permissions: '0700',
}

/** Local socket and loopback, trust; every other connection is rejected by having no rule. */
export const PG_HBA = [
  '# Written by rotv: trust on the private unix socket and loopback only. Rewritten by every initCluster.',
  'local   all   all                  trust',
  'host    all   all   127.0.0.1/32   trust',
  'host    all   all   ::1/128        trust',
  '',
].join('\n')

const ROTV_CONF = 'rotv.conf'

export interface InitClusterOptions {
  binaries: PgBinaries
  pgdata: string
  /** PG_RUN_AS; only used when root. */
  runAs?: string
  /** Superuser role name (default postgres). */
  superuser?: string
  mode?: ClusterMode
  /** Extra or overriding server settings, written to PGDATA/rotv.conf. */
  settings?: Record<string, string>
  /** initdb --locale (default C.UTF-8: UTF-8 aware case mapping, byte-order sorting; built into glibc 2.35+ and Debian, no locales package needed). */
  locale?: string
  /**
   * Dev mode: a directory keeping a copy of what initdb made, reused by later clusters of the same
   * binaries and options (a 40 MB copy instead of ~0.7 s of initdb). They then share one system
   * identifier, which only replication would care about.
   */
  skeletonDir?: string
  signal?: AbortSignal
}

export interface InitClusterResult {
  /** False when PGDATA already held a cluster (persistent mode), which was kept as it was. */
  initialized: boolean
  pgdata: string
}

/**
 * initdb PGDATA when it is empty or missing; keep an existing cluster of the same major version.
 * Either way (re)writes pg_hba.conf and rotv.conf so the access rules and mode settings always hold.
 */
export async function initCluster(options: InitClusterOptions): Promise<InitClusterResult> {
  // Absolute: initdb runs with cwd '/' as the server user.
  const opts = { ...options, pgdata: resolve(options.pgdata) }
  const user = await resolveServerUser(opts.runAs)
  const mode = opts.mode ?? 'dev'
  const existing = await existingCluster(opts.pgdata, opts.binaries)
  if (!existing) {
    await mkdir(dirname(opts.pgdata), { recursive: true })
    // We create pgdata (as its owner-to-be); the server user only has to traverse to it.
    await assertReachable(dirname(opts.pgdata), user, false)
    const initdbArgs = [
      '-U', opts.superuser ?? 'postgres',
      '--auth=trust',
      '-E', 'UTF8',
      `--locale=${opts.locale ?? 'C.UTF-8'}`,
      '--no-instructions',
      // a damaged page is an error ("page verification failed"), never a silently changed row
      '--data-checksums',
      // Dev clusters are thrown away; syncing them to a tmpfs is wasted time.
      ...(mode === 'dev' ? ['--no-sync'] : []),
    ]
    const skeleton = mode === 'dev' && opts.skeletonDir ? join(opts.skeletonDir, await skeletonKey(opts.binaries, initdbArgs)) : undefined
    if (!(skeleton && (await copySkeleton(skeleton, opts.pgdata, user)))) {
      await makePrivateDir(opts.pgdata, user)
      await runCommand(opts.binaries.initdb, ['-D', opts.pgdata, ...initdbArgs], { user, signal: opts.signal })
      if (skeleton) await saveSkeleton(opts.pgdata, skeleton).catch(() => {})
    }
  } else {
    await assertReachable(opts.pgdata, user)
  }
  await writeConfig(opts.pgdata, user, { ...(mode === 'dev' ? DEV_SETTINGS : PERSISTENT_SETTINGS), ...opts.settings, ...ACCESS_SETTINGS })
  return { initialized: !existing, pgdata: opts.pgdata }
}

/** True when PGDATA holds a cluster for these binaries; false when empty/missing; throws otherwise. */
export async function existingCluster(pgdata: string, binaries: PgBinaries): Promise<boolean> {
  const entries = await readdir(pgdata).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (!entries || entries.length === 0) return false
  const version = await readFile(join(pgdata, 'PG_VERSION'), 'utf8').catch(() => undefined)
  if (version === undefined) {
    throw new ClusterDirError(`${pgdata} is not empty and is not a PostgreSQL data directory (no PG_VERSION)`, {
      fix: `point DATA_DIR at an empty directory or an existing cluster, or empty ${pgdata}`,
    })
  }
  if (Number(version.trim()) !== binaries.version.major) {
    throw new ClusterDirError(`${pgdata} holds a PostgreSQL ${version.trim()} cluster, but the server binaries are PostgreSQL ${binaries.version.full}`, {
      fix: `set PG_BIN_DIR to PostgreSQL ${version.trim()} binaries, or move ${pgdata} away to start a fresh cluster`,
    })
  }
  return true
}

/** The server user must be able to traverse to (and, with `write`, write in) `dir`: not under root's /root. */
export async function assertReachable(dir: string, user: ServerUser | undefined, write = true): Promise<void> {
  if (!user) return
  if ((await userCan(user, '-x', dir)) && (!write || (await userCan(user, '-w', dir)))) return
  throw new NotAccessibleError(`the server runs as ${user.name}, who cannot reach${write ? ' or write' : ''} ${dir} (a parent directory such as /root is private)`, {
    fix: `set DATA_DIR to a directory ${user.name} can reach (e.g. /var/lib/rotv), or set PG_RUN_AS to a user who can`,
  })
}

async function writeConfig(pgdata: string, user: ServerUser | undefined, settings: Record<string, string>): Promise<void> {
  const conf = join(pgdata, 'postgresql.conf')
  const main = await readFile(conf, 'utf8')
  const include = `include_if_exists '${ROTV_CONF}'`
  const files: Array<[string, string]> = [
    [join(pgdata, 'pg_hba.conf'), PG_HBA],
    [join(pgdata, ROTV_CONF), renderSettings(settings)],
  ]
  // Kept in a file of its own, included last, so initdb's postgresql.conf stays untouched otherwise.
  if (!main.includes(include)) files.push([conf, `${main.trimEnd()}\n\n# rotv: generated settings\n${include}\n`])
  for (const [file, text] of files) {
    await writeFile(file, text, { mode: 0o600 })
    if (user) await chown(file, user.uid, user.gid)
  }
}

const SKELETON_DONE = 'skeleton-complete'

/** Name of the skeleton for these binaries and initdb arguments (a different initdb makes a different one). */
async function skeletonKey(binaries: PgBinaries, initdbArgs: string[]): Promise<string> {
  const initdb = await realpath(binaries.initdb).catch(() => binaries.initdb)
  const hash = createHash('sha256').update(JSON.stringify([initdb, binaries.version.full, initdbArgs])).digest('hex').slice(0, 24)
  return `.skeleton-pg${binaries.version.major}-${hash}`
}

/** Copy a complete skeleton into pgdata (which must not exist); false when there is none. */
async function copySkeleton(skeleton: string, pgdata: string, user: ServerUser | undefined): Promise<boolean> {
  if (!(await stat(join(skeleton, SKELETON_DONE)).catch(() => undefined))) {
    // saves are renamed into place complete, so this is damage: make room for a new one
    await rm(skeleton, { recursive: true, force: true })
    return false
  }
  try {
    // cp -a into an existing (empty) directory would nest the copy inside it
    await rmdir(pgdata).catch(() => {})
    await runCommand('cp', ['-a', join(skeleton, 'pgdata'), pgdata])
    const st = await stat(pgdata)
    if (user && (st.uid !== user.uid || st.gid !== user.gid)) await runCommand('chown', ['-R', `${user.uid}:${user.gid}`, pgdata])
    await chmod(pgdata, 0o700)
    return true
  } catch {
    // an unusable skeleton: initdb instead, and make a new one
    await rm(pgdata, { recursive: true, force: true })
    await rm(skeleton, { recursive: true, force: true })
    return false
  }
}

/** Keep a copy of a fresh initdb (built aside, renamed into place: never half a skeleton). */
async function saveSkeleton(pgdata: string, skeleton: string): Promise<void> {
  await mkdir(dirname(skeleton), { recursive: true, mode: 0o700 })
  const tmp = `${skeleton}.tmp-${process.pid}`
  await rm(tmp, { recursive: true, force: true })
  try {
    await mkdir(tmp, { mode: 0o700 })
    await runCommand('cp', ['-a', pgdata, join(tmp, 'pgdata')])
    await writeFile(join(tmp, SKELETON_DONE), '')
    await rename(tmp, skeleton).catch(async () => {
      // another start saved it first
      await rm(tmp, { recursive: true, force: true })
    })
  } catch (err) {
    await rm(tmp, { recursive: true, force: true })
    throw err
  }
}

function renderSettings(settings: Record<string, string>): string {
  const lines = ['# Written by rotv (initCluster); rewritten on every initCluster.']
  for (const [key, value] of Object.entries(settings)) {
    if (!/^[a-z_][a-z0-9_.]*$/i.test(key)) throw new Error(`invalid PostgreSQL setting name: ${key}`)
    lines.push(`${key} = '${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`)
  }
  return `${lines.join('\n')}\n`
}
