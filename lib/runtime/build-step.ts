// The project's build step (a frontend, say): a fresh clone has no build output yet, and a developer who
// edited an input expects to see the change, so it runs when the output is missing or older than an input.
import { existsSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { RotvError } from '../errors.ts'
import { run, tail } from '../process/index.ts'
import type { BuildLaunch } from '../project/launch.ts'

export class BuildStepError extends RotvError {}

/** Runs the build when needed; resolves to true when it built. */
export async function ensureBuilt(build: BuildLaunch, signal?: AbortSignal): Promise<boolean> {
  const inputs = build.inputs.filter((i) => existsSync(i))
  if (inputs.length === 0) return false
  if (existsSync(build.output)) {
    const built = (await stat(build.output)).mtimeMs
    let newest = 0
    for (const input of inputs) newest = Math.max(newest, await newestMtime(input))
    if (newest <= built) return false
  }
  const shown = [build.command, ...build.args].join(' ')
  const result = await run(build.command, build.args, { cwd: build.cwd, signal, nothrow: true })
  if (!result.ok) {
    if (result.spawnError === 'ENOENT') throw new BuildStepError(`cannot run the build step: ${build.command} is not installed`, { fix: 'run `npm ci`, or fix app.build.command in the project file' })
    throw new BuildStepError(`the build step failed (${shown}): ${tail(result.stderr || result.stdout, 5).split('\n').join(' ')}`, {
      fix: `fix the error, then start again (to see all of it: cd ${build.cwd} && ${shown})`,
    })
  }
  return true
}

async function newestMtime(path: string): Promise<number> {
  const s = await stat(path)
  if (!s.isDirectory()) return s.mtimeMs
  let newest = 0
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const f = await stat(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))
    newest = Math.max(newest, f.mtimeMs)
  }
  return newest
}
