// bump-version: the image's version lives in the Containerfile's `LABEL version="X.Y.Z"` (at the top of
// the application stage, so a bump rebuilds that stage only) and in package.json's "version". Both are
// rewritten together or not at all.
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
}

export interface BumpResult {
  from: string
  to: string
  files: string[]
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
  await replaceTogether([
    [files.containerfile, newContainer, containerText],
    [files.packageJson, newPkg, pkgText],
  ])
  return { from: label.version, to, files: [files.containerfile, files.packageJson] }
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
