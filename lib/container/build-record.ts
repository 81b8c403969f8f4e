// What the last successful `build` of each tag was built from, kept in the data home, so that
// `bump-version` rebuilds from the same base image (a locally imported one, when no registry is
// reachable) instead of falling back to the public image named in the Containerfile.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface BuildRecord {
  tag: string
  /** ARG BASE_IMAGE as passed; undefined when the Containerfile's default was used. */
  baseImage?: string
  imageId: string
  builtAt: string
}

export async function recordBuild(home: string, record: BuildRecord): Promise<void> {
  const all = await readRecords(home)
  all[record.tag] = record
  await mkdir(home, { recursive: true, mode: 0o700 })
  const file = recordFile(home)
  const tmp = `${file}.tmp-${process.pid}`
  await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`)
  await rename(tmp, file)
}

/** The last build of `tag`, else the most recent build of any tag. */
export async function lastBuild(home: string, tag: string): Promise<BuildRecord | undefined> {
  const all = await readRecords(home)
  if (all[tag]) return all[tag]
  return Object.values(all).sort((a, b) => b.builtAt.localeCompare(a.builtAt))[0]
}

function recordFile(home: string): string {
  return join(home, 'builds.json')
}

async function readRecords(home: string): Promise<Record<string, BuildRecord>> {
  try {
    return JSON.parse(await readFile(recordFile(home), 'utf8')) as Record<string, BuildRecord>
  } catch {
    return {}
  }
}
