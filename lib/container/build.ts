// Building the image with layer caching, and saying which stages came from the cache. The report is
// parsed from the engine's own output (podman/buildah: "[i/N] STEP j/M: ..." then "--> Using cache"
// for a cached step; docker BuildKit: "#n [stage j/M] ..." then "#n CACHED"), never guessed from timings.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ImageBuildError } from './errors.ts'
import { mustRun, type Engine } from './engine.ts'

export interface BuildImageOptions {
  engine: Engine
  /** Build context (the repository root). */
  contextDir: string
  /** Default Containerfile in the context. */
  containerfile?: string
  tag: string
  /** ARG BASE_IMAGE; default the Containerfile's (public Debian trixie). */
  baseImage?: string
  /** Extra CA bundle for `npm ci` behind a TLS-intercepting proxy; a build secret, never in a layer. */
  caFile?: string
  /** Ignore the layer cache (e.g. to pick up Debian security updates in the infrastructure stage). */
  noCache?: boolean
  signal?: AbortSignal
  /** Every output line, as it arrives (for --verbose and progress). */
  onLine?: (line: string) => void
}

export interface StageReport {
  /** 1-based position in the Containerfile. */
  index: number
  /** The stage's `AS name`, else its index as text. */
  name: string
  /** Steps after FROM. */
  steps: number
  cachedSteps: number
  /** Every step came from the cache: nothing in this stage ran. */
  cached: boolean
}

export interface BuildImageResult {
  tag: string
  imageId: string
  stages: StageReport[]
  durationMs: number
  output: string
}

export const DEFAULT_IMAGE = 'localhost/rotv:latest'

export async function buildImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const started = Date.now()
  await writeVersionlessLock(opts.contextDir)
  const args = ['build', '-f', opts.containerfile ?? 'Containerfile', '-t', opts.tag]
  // podman caches layers only with --layers (its default is true, but a containers.conf can turn it off).
  if (opts.engine.name === 'podman') args.push('--layers')
  if (opts.noCache) args.push('--no-cache')
  if (opts.baseImage) args.push('--build-arg', `BASE_IMAGE=${opts.baseImage}`)
  if (opts.caFile) args.push('--secret', `id=npm-ca,src=${opts.caFile}`)
  // BuildKit collapses its output on a terminal; plain keeps the per-step CACHED lines we parse.
  const env = opts.engine.name === 'docker' ? ['--progress=plain'] : []
  args.push(...env, opts.contextDir)
  const result = await mustRun(
    opts.engine,
    args,
    (tail) =>
      // The engine's cause in the message (one line), its last lines once, under it.
      new ImageBuildError(`${opts.engine.name} build failed: ${engineCause(tail)}`, {
        details: tail.split('\n').filter((l) => l.trim() && l.trim() !== `Error: ${engineCause(tail)}`),
        fix: opts.baseImage
          ? `check that the base image ${opts.baseImage} exists (\`${opts.engine.name} image exists ${opts.baseImage}\`) and that the Debian archive and the npm registry answer`
          : 'no registry reachable? build a local base image (debootstrap, then `podman import`) and pass --base-image',
      }),
    { signal: opts.signal, onLine: opts.onLine },
  )
  const output = `${result.stdout}\n${result.stderr}`
  const inspect = await mustRun(opts.engine, ['image', 'inspect', '--format', '{{.Id}}', opts.tag], (t) => new ImageBuildError(`built, but cannot inspect ${opts.tag}: ${t}`))
  return { tag: opts.tag, imageId: inspect.stdout.trim(), stages: parseBuildOutput(output), durationMs: Date.now() - started, output }
}

/**
 * .rotv-build/package-lock.json: the lockfile with its own version set to 0.0.0, which the dependencies
 * and frontend stages copy, so their `npm ci` layers stay cached across a version bump (package-lock.json's
 * version moves with package.json's). Rewritten only when its content changes.
 */
async function writeVersionlessLock(contextDir: string): Promise<void> {
  const text = await readFile(join(contextDir, 'package-lock.json'), 'utf8').catch(() => undefined)
  if (text === undefined) return
  const lock = JSON.parse(text) as { version?: string; packages?: Record<string, { version?: string }> }
  if (lock.version !== undefined) lock.version = '0.0.0'
  if (lock.packages?.['']?.version !== undefined) lock.packages[''].version = '0.0.0'
  const out = `${JSON.stringify(lock, null, 2)}\n`
  const dir = join(contextDir, '.rotv-build')
  const file = join(dir, 'package-lock.json')
  if ((await readFile(file, 'utf8').catch(() => undefined)) === out) return
  await mkdir(dir, { recursive: true })
  await writeFile(`${file}.tmp-${process.pid}`, out)
  await rename(`${file}.tmp-${process.pid}`, file)
}

/** The engine's own `Error: ...` line (the last one), else its last line. */
function engineCause(tail: string): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter(Boolean)
  const error = [...lines].reverse().find((l) => /^Error: /.test(l))
  return (error ?? lines.at(-1) ?? 'no output').replace(/^Error: /, '')
}

/** Per-stage cache report from podman/buildah or docker BuildKit output. */
export function parseBuildOutput(output: string): StageReport[] {
  const lines = output.split('\n').map((l) => l.replace(/\r$/, ''))
  return lines.some((l) => /^\[\d+\/\d+\] STEP \d+\/\d+: /.test(l)) ? parsePodman(lines) : parseBuildKit(lines)
}

function parsePodman(lines: string[]): StageReport[] {
  // buildah builds a stage lazily, when a later one first needs it (COPY --from=...): its steps then
  // appear between that COPY's header and the COPY's own result. So results belong to the innermost
  // open step, a stack: a header opens a step, "--> Using cache" marks the open step cached, and the
  // "--> <id>" result line closes it.
  const stages = new Map<number, StageReport>()
  const open: StageReport[] = []
  const cachedMark = new Set<number>()
  for (const line of lines) {
    const step = /^\[(\d+)\/\d+\] STEP (\d+)\/\d+: (.*)$/.exec(line)
    if (step) {
      const index = Number(step[1])
      let stage = stages.get(index)
      if (!stage) {
        stage = { index, name: String(index), steps: 0, cachedSteps: 0, cached: false }
        stages.set(index, stage)
      }
      const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(step[3]!)
      if (from) {
        if (from[1]) stage.name = from[1]
        continue
      }
      stage.steps++
      open.push(stage)
      continue
    }
    if (/^--> Using cache\b/.test(line)) {
      if (open.length) cachedMark.add(open.length - 1)
      continue
    }
    if (/^--> [0-9a-f]{6,}\s*$/.test(line) && open.length) {
      const depth = open.length - 1
      const stage = open.pop()!
      if (cachedMark.delete(depth)) stage.cachedSteps++
    }
  }
  return finish([...stages.values()])
}

function parseBuildKit(lines: string[]): StageReport[] {
  // "#7 [dependencies 2/4] RUN npm ci" ... "#7 CACHED"; stage names are in the brackets.
  const byVertex = new Map<string, { stage: string; from: boolean }>()
  const stages = new Map<string, StageReport>()
  for (const line of lines) {
    const head = /^#(\d+) \[([^\]\s]+) (\d+)\/\d+\] (.*)$/.exec(line)
    if (head) {
      const [, id, stage, , instruction] = head
      const from = /^FROM\b/i.test(instruction!)
      byVertex.set(id!, { stage: stage!, from })
      if (!stages.has(stage!)) stages.set(stage!, { index: stages.size + 1, name: stage!, steps: 0, cachedSteps: 0, cached: false })
      if (!from) stages.get(stage!)!.steps++
      continue
    }
    const cached = /^#(\d+) CACHED$/.exec(line)
    const v = cached ? byVertex.get(cached[1]!) : undefined
    if (v && !v.from) stages.get(v.stage)!.cachedSteps++
  }
  return finish([...stages.values()])
}

function finish(stages: StageReport[]): StageReport[] {
  for (const s of stages) s.cached = s.steps > 0 && s.cachedSteps === s.steps
  return stages.sort((a, b) => a.index - b.index)
}

/** "infrastructure: cached; dependencies: cached; frontend: cached; application: built (0/9 cached)" */
export function describeStages(stages: StageReport[]): string {
  return stages.map((s) => `${s.name}: ${s.cached ? 'cached' : `built (${s.cachedSteps}/${s.steps} steps cached)`}`).join('; ')
}
