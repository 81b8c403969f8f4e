// bump-version: the image's version lives in the Containerfile's `LABEL version="X.Y.Z"` (at the top of
// the application stage, so a bump rebuilds that stage only), in package.json's "version" and in
// package-lock.json's two copies of it (so `npm ci` sees no mismatch). All are rewritten together or not
// at all, and undoBump puts them back when the rebuild that follows fails.
import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import semver from 'semver'
import { ContainerfileError, VersionError } from './errors.ts'

export type BumpKind = 'major' | 'minor' | 'patch' | 'prerelease'
export const BUMP_KINDS: readonly BumpKind[] = ['major', 'minor', 'patch', 'prerelease']

export interface VersionFiles {
  containerfile: string
  packageJson: string
  /** Rewritten too when it exists (its root "version" and packages[""].version). */
  packageLock?: string
}

export interface BumpResult {
  from: string
  to: string
  files: string[]
  /** Each rewritten file's text before and after, for undoBump. */
  changes: Array<{ path: string; before: string; after: string }>
}

/** The version in the Containerfile's LABEL (the image's), and package.json's. */
export async function readVersions(files: VersionFiles): Promise<{ label: string; packageJson: string | undefined }> {
  const text = await readFile(files.containerfile, 'utf8')
  const pkg = JSON.parse(await readFile(files.packageJson, 'utf8')) as { version?: string }
  return { label: findLabel(text, files.containerfile).version, packageJson: pkg.version }
}

/** The version `spec` (a bump kind or an explicit X.Y.Z) leads to from `current`; throws VersionError. */
export function nextVersion(current: string, spec: string): string {
  const from = semver.valid(current)
  if (!from) throw new VersionError(`the current version "${current}" is not a semantic version`, { fix: 'fix LABEL version in the Containerfile by hand (e.g. 0.1.0), then bump again' })
  const wanted = spec.trim()
  if ((BUMP_KINDS as readonly string[]).includes(wanted)) return semver.inc(from, wanted as BumpKind)!
  const explicit = semver.valid(wanted)
  if (!explicit) {
    throw new VersionError(`"${spec}" is neither a bump kind nor a version`, { fix: `use one of ${BUMP_KINDS.join(', ')}, or a semantic version such as ${semver.inc(from, 'minor')}` })
  }
  if (semver.eq(explicit, from)) throw new VersionError(`the version is already ${from}`, { fix: `pick a newer version, e.g. ${semver.inc(from, 'patch')}` })
  if (semver.lt(explicit, from)) {
    throw new VersionError(`${explicit} is older than the current ${from}: bump-version never downgrades`, { fix: `pick a version newer than ${from}, e.g. ${semver.inc(from, 'patch')}` })
  }
  return explicit
}

/**
 * Rewrite both files to `spec`'s version. Each file is written to a temp file next to it first; only when
 * both are written are they renamed into place, and if the second rename fails the first is undone.
 */
export async function bumpVersion(files: VersionFiles, spec: string): Promise<BumpResult> {
  const containerText = await readFile(files.containerfile, 'utf8')
  const pkgText = await readFile(files.packageJson, 'utf8')
  const label = findLabel(containerText, files.containerfile)
  const pkg = JSON.parse(pkgText) as { version?: string }
  const to = nextVersion(label.version, spec)
  if (pkg.version && semver.valid(pkg.version) && semver.gte(pkg.version, to)) {
    throw new VersionError(`package.json is already at ${pkg.version}, not older than ${to}`, { fix: `bump past it: npx tsx Taskfile.ts bump-version ${semver.inc(pkg.version, 'patch')}` })
  }
  const newContainer = containerText.slice(0, label.start) + label.line.replace(label.raw, `"${to}"`) + containerText.slice(label.end)
  // Only the "version" value changes: formatting and key order of package.json stay as they were.
  const newPkg = pkg.version !== undefined
    ? pkgText.replace(/("version"\s*:\s*)"[^"]*"/, `$1"${to}"`)
    : `${JSON.stringify({ ...pkg, version: to }, null, 2)}\n`
  const changes = [
    { path: files.containerfile, before: containerText, after: newContainer },
    { path: files.packageJson, before: pkgText, after: newPkg },
  ]
  const lockText = files.packageLock ? await readFile(files.packageLock, 'utf8').catch(() => undefined) : undefined
  if (files.packageLock && lockText !== undefined) changes.push({ path: files.packageLock, before: lockText, after: bumpLock(lockText, pkg.version, to) })
  await replaceTogether(changes.map((c) => [c.path, c.after, c.before]))
  return { from: label.version, to, files: changes.map((c) => c.path), changes }
}

/**
 * Put the files of `bumped` back as they were (after a failed rebuild). A file changed by hand since the
 * bump is left alone and named in the returned list.
 */
export async function undoBump(bumped: BumpResult): Promise<{ restored: string[]; changedSince: string[] }> {
  const current = await Promise.all(bumped.changes.map((c) => readFile(c.path, 'utf8').catch(() => undefined)))
  const ours = bumped.changes.filter((_, i) => current[i] === bumped.changes[i]!.after)
  const changedSince = bumped.changes.filter((_, i) => current[i] !== bumped.changes[i]!.after).map((c) => c.path)
  await replaceTogether(ours.map((c) => [c.path, c.before, c.after]))
  return { restored: ours.map((c) => c.path), changedSince }
}

/** package-lock.json with its root version and packages[""].version moved from `from` to `to`, text otherwise untouched. */
function bumpLock(text: string, from: string | undefined, to: string): string {
  const lock = JSON.parse(text) as { version?: string; packages?: Record<string, { version?: string }> }
  let out = text
  // The root "version" is the first one in the file (name, version, lockfileVersion come first).
  if (lock.version !== undefined && (from === undefined || lock.version === from)) out = out.replace(/("version"\s*:\s*)"[^"]*"/, `$1"${to}"`)
  const root = lock.packages?.['']
  if (root?.version !== undefined && (from === undefined || root.version === from)) {
    const at = out.search(/"packages"\s*:\s*\{\s*""\s*:\s*\{/)
    if (at >= 0) {
      const head = out.slice(0, at)
      out = head + out.slice(at).replace(/("version"\s*:\s*)"[^"]*"/, `$1"${to}"`)
    }
  }
  const check = JSON.parse(out) as typeof lock
  if ((lock.version !== undefined && check.version !== to && lock.version === from) || (root?.version === from && check.packages?.['']?.version !== to)) {
    throw new VersionError(`package-lock.json's version could not be rewritten to ${to}`, { fix: 'run `npm install --package-lock-only` after the bump, or set its "version" by hand' })
  }
  return out
}

interface Label {
  version: string
  /** The value as written, quotes included. */
  raw: string
  line: string
  start: number
  end: number
}

function findLabel(text: string, file: string): Label {
  const re = /^LABEL[ \t]+version=("[^"\n]*"|\S+)[ \t]*$/gm
  const found = [...text.matchAll(re)]
  if (found.length !== 1) {
    throw new ContainerfileError(`${file} has ${found.length === 0 ? 'no' : `${found.length}`} \`LABEL version="X.Y.Z"\` line${found.length > 1 ? 's' : ''}; bump-version rewrites exactly one`, {
      fix: 'keep one `LABEL version="0.1.0"` line, alone, at the top of the application stage',
    })
  }
  const m = found[0]!
  const raw = m[1]!
  return { version: raw.replace(/^"|"$/g, ''), raw, line: m[0], start: m.index!, end: m.index! + m[0].length }
}

async function replaceTogether(changes: Array<[path: string, text: string, original: string]>): Promise<void> {
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`
  const temps = changes.map(([path]) => join(dirname(path), `.${basename(path)}.${tag}.tmp`))
  try {
    for (let i = 0; i < changes.length; i++) await writeFile(temps[i]!, changes[i]![1], { flag: 'wx' })
    const done: number[] = []
    try {
      for (let i = 0; i < changes.length; i++) {
        await rename(temps[i]!, changes[i]![0])
        done.push(i)
      }
    } catch (err) {
      // Put back what was already replaced: both files change, or neither does.
      for (const i of done.reverse()) await restore(changes[i]![0], changes[i]![2], tag)
      throw err
    }
  } finally {
    await Promise.all(temps.map((t) => rm(t, { force: true })))
  }
}

async function restore(path: string, original: string, tag: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${tag}.restore`)
  await writeFile(tmp, original)
  await rename(tmp, path)
}
