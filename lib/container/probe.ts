// "Can a container run here?", answered by running one (`true` in the image, no network, removed at
// once): `podman version` and a successful `build` prove nothing, since buildah ignores the ulimits that
// make every `podman run` fail on hosts whose hard limits are below podman's defaults. The answer is
// cached per data home under a key of everything that changes it (the engine and its version, the
// containers.conf files, CONTAINERS_CONF, this process's hard limits, the image), so it costs one
// container start (about a second) only when one of those changed.
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { runEngine, type Engine } from './engine.ts'

export interface ProbeResult {
  ok: boolean
  /** The engine's own last line when a container could not run. */
  reason?: string
  /** The fix for `reason`, naming what helps. */
  fix?: string
  /** True when the answer came from the cache. */
  cached: boolean
}

/** Run (or recall) the probe for `image` on `engine`; `home` is the data home that keeps the answer. */
export async function probeContainerRun(engine: Engine, image: string, home: string): Promise<ProbeResult> {
  const key = await probeKey(engine, image)
  const file = join(home, 'run', 'container-probe.json')
  const cached = await readCache(file)
  if (cached?.key === key) return { ok: cached.ok, reason: cached.reason, fix: cached.fix, cached: true }

  const r = await runEngine(engine, ['run', '--rm', '--network', 'none', '--entrypoint', 'true', image], { timeoutMs: 60_000 }).catch(
    (err: Error) => ({ code: 1, stdout: '', stderr: err.message }),
  )
  const output = `${r.stderr}${r.stdout}`.trim()
  const result: ProbeResult = r.code === 0 ? { ok: true, cached: false } : { ok: false, reason: lastLine(output), fix: containerRunFix(engine, output), cached: false }
  await mkdir(join(home, 'run'), { recursive: true, mode: 0o700 })
  // Written whole or not at all: a half-written cache would only cost a re-probe, but never a wrong answer.
  const tmp = `${file}.tmp-${process.pid}`
  await writeFile(tmp, JSON.stringify({ key, ok: result.ok, reason: result.reason, fix: result.fix, probedAt: new Date().toISOString() }, null, 2))
  await rename(tmp, file)
  return result
}

/** What helps when `<engine> run` failed with `output` (the probe and `start` say the same). */
export function containerRunFix(engine: Engine, output: string): string {
  if (/rlimit/i.test(output)) {
    return (
      `${engine.name}'s default ulimits exceed this machine's hard limits: put \`[containers]\` \`default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\` ` +
      '(values within `ulimit -Hn` / `ulimit -Hu`) in a containers.conf and export CONTAINERS_CONF=/path/to/it, or use the host runtime: RUNTIME=host'
    )
  }
  if (/crun|cgroup/i.test(output)) return `set \`[engine]\` \`runtime = "runc"\` in a containers.conf and export CONTAINERS_CONF=/path/to/it, or use the host runtime: RUNTIME=host`
  if (engine.rootless) return 'rootless podman needs uidmap, /etc/subuid and /etc/subgid ranges for your user, and /dev/net/tun; or use the host runtime: RUNTIME=host'
  return `see \`${engine.name} info\` and the line above; or use the host runtime: RUNTIME=host`
}

async function probeKey(engine: Engine, image: string): Promise<string> {
  const h = createHash('sha256')
  h.update(`${engine.name}\0${engine.rootless}\0`)
  const version = await runEngine(engine, ['version'], { timeoutMs: 20_000 }).catch(() => undefined)
  h.update(version?.stdout ?? '')
  const id = await runEngine(engine, ['image', 'inspect', '--format', '{{.Id}}', image], { timeoutMs: 30_000 }).catch(() => undefined)
  h.update(`\0${image}\0${id?.stdout.trim() ?? ''}\0`)
  const confs = [process.env.CONTAINERS_CONF, '/usr/share/containers/containers.conf', '/etc/containers/containers.conf', join(homedir(), '.config', 'containers', 'containers.conf')]
  for (const f of confs) h.update(`${f ?? ''}\0${fileFingerprint(f)}\0`)
  // Raising the hard limits (or running under another login's) is the other way a failing run starts working.
  h.update(fileFingerprint('/proc/self/limits', true))
  return h.digest('hex')
}

function fileFingerprint(file: string | undefined, contentOnly = false): string {
  if (!file) return ''
  try {
    const text = readFileSync(file, 'utf8')
    return contentOnly ? text : `${statSync(file).mtimeMs}:${text}`
  } catch {
    return 'absent'
  }
}

async function readCache(file: string): Promise<{ key: string; ok: boolean; reason?: string; fix?: string } | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { key: string; ok: boolean; reason?: string; fix?: string }
  } catch {
    return undefined
  }
}

function lastLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean)
  return (lines.pop() ?? 'the engine gave no reason').replace(/^Error: /, '')
}
