// The app's page is built by Vite into app/public. A fresh clone has no build yet, and a developer who
// edited app/frontend expects to see the change: build when the output is missing or older than a source.
import { existsSync } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { RotvError } from '../errors.ts'

const run = promisify(execFile)

export class FrontendBuildError extends RotvError {}

/** Builds app/public when needed; resolves to true when it built. */
export async function ensureFrontendBuilt(appDir: string, signal?: AbortSignal): Promise<boolean> {
  const output = join(appDir, 'public', 'index.html')
  const sources = join(appDir, 'frontend')
  if (!existsSync(sources)) return false
  if (existsSync(output) && (await newestMtime(sources)) <= (await stat(output)).mtimeMs) return false
  const vite = findVite(appDir)
  if (!vite) throw new FrontendBuildError('cannot build the app\'s page: vite is not installed', { fix: 'run `npm ci`' })
  try {
    await run(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: appDir, signal, maxBuffer: 16 * 1024 * 1024 })
  } catch (err) {
    const e = err as { stderr?: string; message: string }
    throw new FrontendBuildError(`building the app's page failed: ${(e.stderr || e.message).trim().split('\n').slice(-5).join(' ')}`, {
      fix: 'fix the error in app/frontend, then start again',
    })
  }
  return true
}

function findVite(appDir: string): string | undefined {
  return [join(appDir, 'node_modules', 'vite', 'bin', 'vite.js'), join(appDir, '..', 'node_modules', 'vite', 'bin', 'vite.js')].find((p) => existsSync(p))
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const s = await stat(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))
    newest = Math.max(newest, s.mtimeMs)
  }
  return newest
}
