// The warm cluster cache: a cleanly stopped, already imported and migrated cluster, kept in the data
// home so the next start copies it into memory (~1 s) instead of importing the snapshot again (~8 s).
// An entry is keyed by everything that shapes its content: snapshot, PostgreSQL version, migrations.
//
// Layout: CACHE_DIR/KEY/{manifest.json,pgdata/}. Entries are built in CACHE_DIR/.tmp-* and renamed
// into place, so a reader never sees half an entry. A directory the manifest lists as an alias (the
// app database, identical to its pristine template when the entry is made) is stored once and
// restored as a copy of its source.
//
// Saving off the critical path (stageCluster + saveStagedCluster): a start stops the freshly imported
// server once, copies everything but the two big database directories aside (tens of MB, on tmpfs),
// and starts it again for the app. The entry is then written in the background from that stage plus
// the live cluster's pristine template directory, which nothing writes (no one may connect to it, and
// a template copy only reads it); its file list, sizes and modification times are compared before and
// after the copy, so a change is caught, never cached. The manifest lists every file and directory with
// its size and a checksum of its whole content (CRC-32 from node:zlib: several GB/s, so checking every
// byte of a cached cluster costs a fraction of copying it), plus a SHA-256 digest over that list.
// Every entry is verified before it is used: a deleted, truncated, extended or swapped file, an edited
// manifest, and a byte flipped anywhere in any file are caught, the entry removed and the snapshot
// imported instead. (Clusters are also made with data checksums, initdb -k, so a page damaged in memory
// later is an error from the server, never a silently changed row.)
import { createHash } from 'node:crypto'
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs'
import { crc32 } from 'node:zlib'
import { chown, mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, stat, utimes, writeFile, lstat, chmod } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import type { PgBinaries } from './binaries.ts'
import { ClusterDirError, ClusterNotStoppedError } from './errors.ts'
import { checkFits } from './memory-dir.ts'
import { resolveServerUser, runCommand } from './run-as.ts'
import { stopServer } from './server.ts'
import { clusterState, serverStatus } from './status.ts'

export interface ClusterCacheKeyInput {
  snapshotSha256: string
  /** The server's version, e.g. "17.10" (PgBinaries.version.full). */
  pgVersion: string
  migrationsDigest: string
}

/** A filesystem-safe key: "pg<major>-<32 hex>" of the three inputs. */
export function clusterCacheKey(input: ClusterCacheKeyInput): string {
  for (const [name, value] of Object.entries(input)) {
    if (typeof value !== 'string' || value.length === 0) throw new Error(`clusterCacheKey: ${name} is empty`)
  }
  const hash = createHash('sha256').update(JSON.stringify([input.snapshotSha256, input.pgVersion, input.migrationsDigest])).digest('hex')
  const major = /^\d+/.exec(input.pgVersion)?.[0] ?? 'x'
  return `pg${major}-${hash.slice(0, 32)}`
}

export interface SaveClusterOptions {
  cacheDir: string
  key: string
  pgdata: string
  /** When a server still runs on pgdata, stop it (pg_ctl -m fast) first; without this, a running server is an error. */
  stop?: { binaries: PgBinaries; runAs?: string }
  /** Aborting removes the half-written entry (the source cluster is untouched). */
  signal?: AbortSignal
}

export interface CacheEntryInfo {
  key: string
  dir: string
  files: number
  bytes: number
}

/** Copy a cleanly shut down cluster into the cache (replacing an entry of the same key). */
export async function saveCluster(opts: SaveClusterOptions): Promise<CacheEntryInfo> {
  assertKey(opts.key)
  const status = await serverStatus(opts.pgdata)
  if (status.running) {
    if (!opts.stop) throw new ClusterNotStoppedError(`a server (pid ${status.pid}) is running on ${opts.pgdata}; only a stopped cluster can be cached`, { fix: 'stop it first (fast mode)' })
    await stopServer({ pgdata: opts.pgdata, binaries: opts.stop.binaries, runAs: opts.stop.runAs, mode: 'fast' })
  }
  await assertShutDown(opts.pgdata, 'cached')
  return writeEntry(opts.cacheDir, opts.key, {}, async (pgdata) => {
    await runCommand('cp', ['-a', opts.pgdata, pgdata], { signal: opts.signal })
  })
}

export interface StageClusterOptions {
  /** A cleanly shut down cluster. */
  pgdata: string
  /** Created here: receives everything of pgdata but `stable` and its aliases. */
  stageDir: string
  /** Relative directory (base/<pristine oid>) that nothing writes while the server runs on; read later, from pgdata. */
  stable: string
  /** Relative directories identical to `stable` right now (base/<app oid>): stored once, restored as copies. */
  aliases: string[]
}

/** What saveStagedCluster needs (plain data: it may be handed to another process as JSON). */
export interface StagedCluster {
  pgdata: string
  stageDir: string
  stable: string
  aliases: string[]
  /** Fingerprint of pgdata/stable at staging time. */
  fingerprint: string
}

/** Copy a stopped cluster aside without its big database directories (a few tens of MB). */
export async function stageCluster(opts: StageClusterOptions): Promise<StagedCluster> {
  const pgdata = resolve(opts.pgdata)
  await assertShutDown(pgdata, 'staged')
  const skip = new Set([opts.stable, ...opts.aliases].map((d) => d.replace(/\/+$/, '')))
  for (const d of skip) if (!/^base\/\d+$/.test(d)) throw new Error(`stageCluster: ${d} is not a database directory (base/<oid>)`)
  const fingerprint = fingerprintDir(join(pgdata, opts.stable))
  await rm(opts.stageDir, { recursive: true, force: true })
  await copyTreeExcept(pgdata, opts.stageDir, [...skip])
  // a clean shutdown removes postmaster.pid; postmaster.opts describes the old process only
  await rm(join(opts.stageDir, 'postmaster.opts'), { force: true })
  return { pgdata, stageDir: opts.stageDir, stable: opts.stable, aliases: opts.aliases, fingerprint }
}

export class StableDirChangedError extends ClusterDirError {}

/**
 * Write the cache entry of a staged cluster: the stage plus pgdata/stable, copied from the live cluster.
 * Refuses (StableDirChangedError) when that directory changed since staging or during the copy.
 */
export async function saveStagedCluster(staged: StagedCluster, opts: { cacheDir: string; key: string; signal?: AbortSignal }): Promise<CacheEntryInfo> {
  const live = join(staged.pgdata, staged.stable)
  const check = (when: string) => {
    if (fingerprintDir(live) !== staged.fingerprint) {
      throw new StableDirChangedError(`${live} changed ${when}; the warm cluster was not saved`, {
        fix: 'nothing to do: the next start imports the snapshot again (do not connect to the pristine template database)',
      })
    }
  }
  check('since the cluster was staged')
  const aliases = Object.fromEntries(staged.aliases.map((a) => [a, staged.stable]))
  return writeEntry(opts.cacheDir, opts.key, aliases, async (pgdata) => {
    await runCommand('cp', ['-a', staged.stageDir, pgdata], { signal: opts.signal })
    await runCommand('cp', ['-a', live, join(pgdata, staged.stable)], { signal: opts.signal })
    // the server removes relation cache init files at every start; they are never worth keeping
    await rm(join(pgdata, staged.stable, RELCACHE_INIT), { force: true })
    check('while it was copied')
  })
}

export interface RestoreClusterOptions {
  cacheDir: string
  key: string
  /** Destination; must be missing or empty. */
  pgdata: string
  /** PG_RUN_AS (only used when root): the restored files are owned by this user. */
  runAs?: string
  /** TMPFS_SIZE: refuse (InsufficientSpaceError) before copying when the entry would not fit. */
  limitBytes?: number
  /** Aborting removes the partial copy. */
  signal?: AbortSignal
  /**
   * Copy the directories that others are aliases of (the pristine template database) after the rest,
   * while the caller goes on (starts the server, the app): `templatesRestored` resolves when each is
   * in place, copied aside and renamed in, so it appears whole. Only for a database no one connects
   * to; nothing may use it before then.
   */
  deferTemplates?: boolean
}

export type RestoreClusterResult =
  | { hit: true; key: string; files: number; bytes: number; templatesRestored?: Promise<void> }
  /** missing: nothing cached under the key. corrupt: an entry existed, failed verification, and was removed. */
  | { hit: false; key: string; reason: 'missing' | 'corrupt'; notice?: string }

/** Copy a verified cache entry into pgdata. A corrupt or stale entry is removed and reported, never used. */
export async function restoreCluster(options: RestoreClusterOptions): Promise<RestoreClusterResult> {
  const opts = { ...options, pgdata: resolve(options.pgdata) }
  assertKey(opts.key)
  const entry = join(opts.cacheDir, opts.key)
  const check = await verifyClusterEntry(opts.cacheDir, opts.key)
  if (!check.ok) {
    if (check.reason === 'missing') return { hit: false, key: opts.key, reason: 'missing' }
    await rm(entry, { recursive: true, force: true })
    return { hit: false, key: opts.key, reason: 'corrupt', notice: `the cached cluster ${opts.key} was unusable (${check.detail}) and has been removed; importing the snapshot instead` }
  }
  const { manifest } = check
  await mkdir(dirname(opts.pgdata), { recursive: true })
  if (opts.limitBytes !== undefined) await checkFits({ dir: dirname(opts.pgdata), neededBytes: manifest.totalBytes, limitBytes: opts.limitBytes })
  const existing = await readdir(opts.pgdata).catch(() => undefined)
  if (existing && existing.length > 0) throw new ClusterDirError(`cannot restore a cached cluster into ${opts.pgdata}: it is not empty`, { fix: `remove ${opts.pgdata} or use an empty directory` })
  if (existing) await rmdir(opts.pgdata)
  const user = await resolveServerUser(opts.runAs)
  const stored = join(entry, 'pgdata')
  const templates = opts.deferTemplates ? [...new Set(Object.values(manifest.aliases))] : []
  const owned = async (dir: string) => {
    const st = await stat(dir)
    if (user && (st.uid !== user.uid || st.gid !== user.gid)) await runCommand('chown', ['-R', `${user.uid}:${user.gid}`, dir])
  }
  try {
    if (templates.length) await copyTreeExcept(stored, opts.pgdata, templates, opts.signal)
    else await runCommand('cp', ['-a', stored, opts.pgdata], { signal: opts.signal })
    for (const [alias, source] of Object.entries(manifest.aliases)) {
      await runCommand('cp', ['-a', join(stored, source), join(opts.pgdata, alias)], { signal: opts.signal })
    }
    await chmod(opts.pgdata, 0o700)
    await owned(opts.pgdata)
  } catch (err) {
    await rm(opts.pgdata, { recursive: true, force: true })
    throw err
  }
  // Recently used entries are the ones pruneClusters keeps.
  const now = new Date()
  await utimes(join(entry, MANIFEST), now, now).catch(() => {})
  const templatesRestored = templates.length
    ? (async () => {
        for (const [i, dir] of templates.entries()) {
          const aside = `${opts.pgdata}.template-${i}`
          try {
            await runCommand('cp', ['-a', join(stored, dir), aside], { signal: opts.signal })
            await owned(aside)
            await rename(aside, join(opts.pgdata, dir))
          } finally {
            await rm(aside, { recursive: true, force: true })
          }
        }
      })()
    : undefined
  // a caller that gives up on it (a failed start) must not get an unhandled rejection
  templatesRestored?.catch(() => {})
  return { hit: true, key: opts.key, files: manifest.files.length, bytes: restoredBytes(manifest), templatesRestored }
}

export type VerifyResult = { ok: true; manifest: Manifest } | { ok: false; reason: 'missing' | 'corrupt'; detail: string }

/** Check an entry against its manifest without using it. */
export async function verifyClusterEntry(cacheDir: string, key: string): Promise<VerifyResult> {
  const entry = join(cacheDir, key)
  if (!(await stat(entry).catch(() => undefined))) return { ok: false, reason: 'missing', detail: 'no such entry' }
  const corrupt = (detail: string): VerifyResult => ({ ok: false, reason: 'corrupt', detail })
  let manifest: Manifest
  try {
    manifest = JSON.parse(await readFile(join(entry, MANIFEST), 'utf8')) as Manifest
  } catch (err) {
    return corrupt(`manifest unreadable: ${(err as Error).message}`)
  }
  if (manifest.format !== FORMAT) return corrupt(`manifest format ${String(manifest.format)}, expected ${FORMAT} (stale entry)`)
  if (!Array.isArray(manifest.files) || manifest.digest !== manifestDigest(manifest)) return corrupt('manifest digest does not match its content')
  if (manifest.key !== key) return corrupt(`manifest is for key ${manifest.key} (stale entry)`)
  const dirs = new Set(manifest.files.filter((f) => f[1] === -1).map((f) => f[0]))
  for (const [alias, source] of Object.entries(manifest.aliases ?? {})) {
    if (!/^base\/\d+$/.test(alias) || dirs.has(alias) || !dirs.has(source)) return corrupt(`manifest alias ${alias} -> ${source} is invalid`)
  }
  let actual: FileRecord[]
  try {
    actual = describeTree(join(entry, 'pgdata'))
  } catch (err) {
    return corrupt(`cannot read the cached cluster: ${(err as Error).message}`)
  }
  const expected = new Map(manifest.files.map((f) => [f[0], f]))
  if (actual.length !== expected.size) {
    const names = new Set(actual.map((f) => f[0]))
    const missing = manifest.files.find((f) => !names.has(f[0]))
    return corrupt(missing ? `${missing[0]} is missing` : `unexpected extra files (${actual.length} instead of ${expected.size})`)
  }
  for (const [path, size, sample] of actual) {
    const want = expected.get(path)
    if (!want) return corrupt(`unexpected file ${path}`)
    if (want[1] !== size) return corrupt(`${path} has ${size} bytes, expected ${want[1]}`)
    if (want[2] !== sample) return corrupt(`${path} content differs`)
  }
  if (!actual.some((f) => f[0] === 'global/pg_control')) return corrupt('global/pg_control is missing')
  if ((await clusterState(join(entry, 'pgdata'))) !== 'shut down') return corrupt('the cached cluster is not cleanly shut down')
  return { ok: true, manifest }
}

export interface PruneClustersOptions {
  cacheDir: string
  /** How many entries to keep, most recently saved or restored first. */
  keep: number
}

/** Remove all but the `keep` most recently used entries, plus leftovers of interrupted saves. */
export async function pruneClusters(opts: PruneClustersOptions): Promise<string[]> {
  const names = await readdir(opts.cacheDir).catch(() => [] as string[])
  const removed: string[] = []
  const entries: Array<{ name: string; used: number }> = []
  for (const name of names) {
    const path = join(opts.cacheDir, name)
    const st = await lstat(path).catch(() => undefined)
    if (!st?.isDirectory()) continue
    if (name.startsWith(TMP_PREFIX) || name.startsWith(OLD_PREFIX)) {
      // A save in progress in another process builds in .tmp-*; only old ones are abandoned.
      if (Date.now() - st.mtimeMs > LEFTOVER_AGE_MS) {
        await rm(path, { recursive: true, force: true })
        removed.push(name)
      }
      continue
    }
    // not an entry (initCluster's .skeleton-*)
    if (name.startsWith('.')) continue
    const used = await stat(join(path, MANIFEST)).then((s) => s.mtimeMs, () => 0)
    entries.push({ name, used })
  }
  entries.sort((a, b) => b.used - a.used)
  for (const e of entries.slice(Math.max(0, opts.keep))) {
    await rm(join(opts.cacheDir, e.name), { recursive: true, force: true })
    removed.push(e.name)
  }
  return removed
}

export async function listClusters(cacheDir: string): Promise<Array<{ key: string; bytes: number; lastUsed: Date }>> {
  const out: Array<{ key: string; bytes: number; lastUsed: Date }> = []
  for (const name of await readdir(cacheDir).catch(() => [] as string[])) {
    if (name.startsWith('.')) continue
    const file = join(cacheDir, name, MANIFEST)
    const [text, st] = await Promise.all([readFile(file, 'utf8').catch(() => undefined), stat(file).catch(() => undefined)])
    if (!text || !st) continue
    const m = JSON.parse(text) as Partial<Manifest>
    out.push({ key: name, bytes: m.totalBytes ?? 0, lastUsed: st.mtime })
  }
  return out.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime())
}

/** A temp directory inside the cache for an entry made elsewhere (importClusterEntry): pruned if left behind. */
export async function makeIncomingDir(cacheDir: string): Promise<string> {
  await mkdir(cacheDir, { recursive: true, mode: 0o700 })
  return mkdtemp(join(cacheDir, TMP_PREFIX))
}

/**
 * Adopt an entry another data home made (unpacked into `incoming`, from makeIncomingDir) under `key`:
 * the entry's own manifest digest must hold, then it is re-keyed (the key names this home's snapshot file),
 * swapped into place and verified like any entry. A bad entry is removed and an error thrown.
 */
export async function importClusterEntry(cacheDir: string, incoming: string, key: string): Promise<CacheEntryInfo> {
  assertKey(key)
  try {
    const m = JSON.parse(await readFile(join(incoming, MANIFEST), 'utf8')) as Manifest
    if (m.format !== FORMAT || m.digest !== manifestDigest(m)) throw new ClusterDirError(`the imported cluster's manifest does not match its content (format ${String(m.format)})`)
    const { digest: _digest, ...rest } = m
    const sealed = sealManifest({ ...rest, key })
    await writeFile(join(incoming, MANIFEST), JSON.stringify(sealed))
    const final = join(cacheDir, key)
    const old = `${join(cacheDir, OLD_PREFIX)}${Date.now()}-${process.pid}`
    await rename(final, old).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err
    })
    await rename(incoming, final)
    await rm(old, { recursive: true, force: true })
    const check = await verifyClusterEntry(cacheDir, key)
    if (!check.ok) {
      await rm(final, { recursive: true, force: true })
      throw new ClusterDirError(`the imported cluster is ${check.reason}: ${check.detail}`)
    }
    return { key, dir: final, files: sealed.files.length, bytes: restoredBytes(sealed) }
  } finally {
    await rm(incoming, { recursive: true, force: true })
  }
}

// 2: aliases (one stored copy of the app database and its pristine template); 3: whole-content checksums
const FORMAT = 3
const MANIFEST = 'manifest.json'
const RELCACHE_INIT = 'pg_internal.init'
const TMP_PREFIX = '.tmp-'
const OLD_PREFIX = '.old-'
const LEFTOVER_AGE_MS = 60 * 60 * 1000
const READ_CHUNK = 1024 * 1024

/** [relative path, size (-1 for a directory), CRC-32 of the whole content (hex)] */
type FileRecord = [string, number, string]

export interface Manifest {
  format: number
  key: string
  createdAt: string
  /** Bytes stored (aliases not counted). */
  totalBytes: number
  files: FileRecord[]
  /** Restored directory -> stored directory it is a copy of. */
  aliases: Record<string, string>
  digest: string
}

function sealManifest(m: Omit<Manifest, 'digest'>): Manifest {
  return { ...m, digest: manifestDigest(m) }
}

function manifestDigest(m: Omit<Manifest, 'digest'>): string {
  return createHash('sha256').update(JSON.stringify([m.format, m.key, m.createdAt, m.totalBytes, m.files, m.aliases])).digest('hex')
}

/** Bytes a restore writes: the stored files plus each alias's copy. */
function restoredBytes(m: Manifest): number {
  let bytes = m.totalBytes
  for (const source of Object.values(m.aliases)) {
    for (const f of m.files) if (f[1] > 0 && f[0].startsWith(`${source}/`)) bytes += f[1]
  }
  return bytes
}

/** Build an entry in a temp directory (`fill` writes its pgdata), seal it, swap it into place. */
async function writeEntry(cacheDir: string, key: string, aliases: Record<string, string>, fill: (pgdata: string) => Promise<void>): Promise<CacheEntryInfo> {
  assertKey(key)
  await mkdir(cacheDir, { recursive: true, mode: 0o700 })
  const tmp = await mkdtemp(join(cacheDir, TMP_PREFIX))
  try {
    const pgdata = join(tmp, 'pgdata')
    await fill(pgdata)
    await rm(join(pgdata, 'postmaster.pid'), { force: true })
    await rm(join(pgdata, 'postmaster.opts'), { force: true })
    const files = describeTree(pgdata)
    const totalBytes = files.reduce((n, f) => n + Math.max(f[1], 0), 0)
    const manifest = sealManifest({ format: FORMAT, key, createdAt: new Date().toISOString(), totalBytes, files, aliases })
    await writeFile(join(tmp, MANIFEST), JSON.stringify(manifest))
    const final = join(cacheDir, key)
    await rename(tmp, final).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err
      // Replace the old entry: move it aside first, so the swap is two renames, never a partial dir.
      const old = `${join(cacheDir, OLD_PREFIX)}${Date.now()}-${process.pid}`
      await rename(final, old)
      await rename(tmp, final)
      await rm(old, { recursive: true, force: true })
    })
    return { key, dir: final, files: files.length, bytes: restoredBytes(manifest) }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

// A cluster that crashed or was stopped with -m immediate needs WAL replay on start; caching it would
// make every warm start pay (and trust) crash recovery. Only "shut down" is accepted.
async function assertShutDown(pgdata: string, what: string): Promise<void> {
  const state = await clusterState(pgdata)
  if (state !== 'shut down') {
    throw new ClusterNotStoppedError(`the cluster in ${pgdata} is "${state}", not cleanly shut down; it cannot be ${what}`, { fix: 'start it and stop it with pg_ctl -m fast (stopServer mode fast)' })
  }
}

/** Names, sizes and modification times of a directory's files (relation cache init file left out). */
function fingerprintDir(dir: string): string {
  const hash = createHash('sha256')
  for (const name of readdirSync(dir).sort()) {
    if (name === RELCACHE_INIT) continue
    const st = statSync(join(dir, name), { bigint: true })
    hash.update(`${name}\0${st.size}\0${st.mtimeNs}\0${st.ino}\n`)
  }
  return hash.digest('hex')
}

/** cp -a of a cluster directory without some of its database directories (base/<oid>). */
async function copyTreeExcept(src: string, dst: string, skip: string[], signal?: AbortSignal): Promise<void> {
  const skipped = new Set(skip)
  await copyDirAttributes(src, dst)
  const top = readdirSync(src).filter((n) => n !== 'base')
  if (top.length) await runCommand('cp', ['-a', ...top.map((n) => join(src, n)), `${dst}/`], { signal })
  await copyDirAttributes(join(src, 'base'), join(dst, 'base'))
  const dbs = readdirSync(join(src, 'base')).filter((n) => !skipped.has(`base/${n}`))
  if (dbs.length) await runCommand('cp', ['-a', ...dbs.map((n) => join(src, 'base', n)), `${join(dst, 'base')}/`], { signal })
}

/** mkdir dst with src's mode (and owner, when root), for a tree the server user must own. */
async function copyDirAttributes(src: string, dst: string): Promise<void> {
  const st = await stat(src)
  await mkdir(dst, { mode: st.mode & 0o7777 })
  await chmod(dst, st.mode & 0o7777)
  if (process.getuid?.() === 0) await chown(dst, st.uid, st.gid)
}

/**
 * Every directory and file under root, sorted, with size and content checksum. Synchronous on purpose:
 * a cluster is a couple of thousand mostly small files, and sync reads skip a thread-pool round trip
 * per call (measured: several times faster than fs/promises here).
 */
function describeTree(root: string): FileRecord[] {
  const out: FileRecord[] = []
  const buf = Buffer.alloc(READ_CHUNK)
  const walk = (rel: string): void => {
    for (const d of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${d.name}` : d.name
      if (d.isDirectory()) {
        out.push([path, -1, ''])
        walk(path)
      } else if (d.isFile()) {
        out.push([path, ...checksumFile(join(root, path), buf)])
      } else {
        // Symlinks (tablespaces, a separate pg_wal) would point outside the entry: such a cluster
        // cannot be copied as a self-contained unit.
        throw new Error(`${path} is not a regular file or directory`)
      }
    }
  }
  walk('')
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
}

/** [bytes read, CRC-32 of them]: read to the end, so the size and the checksum describe the same bytes. */
function checksumFile(path: string, buf: Buffer): [number, string] {
  const fd = openSync(path, 'r')
  try {
    let size = 0
    let crc = 0
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) {
      crc = crc32(buf.subarray(0, n), crc)
      size += n
    }
    return [size, crc.toString(16).padStart(8, '0')]
  } finally {
    closeSync(fd)
  }
}

function assertKey(key: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(key)) throw new Error(`invalid cluster cache key: ${key}`)
}
