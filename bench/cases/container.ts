// Case 6, the container runtime (lib/runtime/container.ts, lib/container/build.ts, bump-version):
//   full image build   buildImage (what `build` runs) into an EMPTY, benchmark-private image store;
//   bump rebuild       bumpVersion('patch') + buildImage, exactly what `bump-version patch` runs;
//   container start    cold (the supervisor imports the snapshot inside) and warm (warm cluster cache),
//                      to /api/health.
// Private store (CONTAINERS_STORAGE_CONF pointing at a graphroot under /var/tmp): the full build is a
// real first build, and the rebuild's cache holds only this run's layers. In the machine's shared store
// other people's builds leave parallel layer chains of the same steps, and buildah then matches the
// first steps in one chain and misses the next step in it, rebuilding stages a clean cache would keep.
// Built from `git archive HEAD` in a temp dir, so a bump never touches the working tree and other
// people's uncommitted edits are not measured. Store, context and containers are removed at the end.
// Skipped (with the reason in the table) when podman or the container runtime is missing.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { randomBytes } from 'node:crypto'
import { freePort } from '../../test/helpers/production-postgres.ts'
import type { Cleanup } from '../cleanup.ts'
import type { CaseResult, Sample } from '../types.ts'
import { SNAPSHOT_NAME, type StoredSnapshot } from './host.ts'

const run = promisify(execFile)
const BENCH_IMAGE = 'localhost/rotv-bench:latest'

export interface ContainerCaseOptions {
  repoRoot: string
  repeat: number
  cleanup: Cleanup
  log: (m: string) => void
  snapshot?: StoredSnapshot
}

const LABELS = {
  'container:full-build': 'container: full image build (empty store)',
  'container:bump-rebuild': 'container: bump-version patch + rebuild',
  'container:cold-start': 'container: cold start to /api/health',
  'container:warm-start': 'container: warm start to /api/health',
} as const
type ContainerCaseId = keyof typeof LABELS

function skipped(reason: string): CaseResult[] {
  return (Object.keys(LABELS) as ContainerCaseId[]).map((id) => ({ id, label: LABELS[id], status: 'skipped' as const, reason, samples: [] }))
}

export async function runContainerCases(opts: ContainerCaseOptions): Promise<CaseResult[]> {
  try {
    return await containerCases(opts)
  } catch (err) {
    if (opts.cleanup.wasInterrupted) throw err
    opts.log(`container cases failed: ${(err as Error).message}`)
    return failed((err as Error).message.split('\n')[0]!)
  }
}

function failed(reason: string): CaseResult[] {
  return skipped(reason).map((c) => ({ ...c, status: 'failed' as const }))
}

async function containerCases(opts: ContainerCaseOptions): Promise<CaseResult[]> {
  const { cleanup, log } = opts
  const runtimeFiles = ['lib/runtime/container.ts', 'lib/container/build.ts', 'lib/container/version.ts', 'tasks/build.ts', 'tasks/bump-version.ts', 'Containerfile']
  const missing = runtimeFiles.filter((f) => !existsSync(join(opts.repoRoot, f)))
  if (missing.length) return skipped(`container runtime not present (missing ${missing.join(', ')})`)
  if (!opts.snapshot) return skipped('no snapshot stored')
  // These hosts need runc and lower ulimits (see /work/shared/DESIGN.md); the tests' containers.conf
  // has both. A CONTAINERS_CONF set by the caller wins.
  const helpers = await import('../../test/helpers/podman.ts')
  process.env.CONTAINERS_CONF ||= helpers.CONTAINERS_CONF
  const engineMod = await import('../../lib/container/engine.ts')
  const engine = await engineMod.detectEngine('podman')
  if (!engine) return skipped('no podman (podman version failed)')
  const buildMod = await import('../../lib/container/build.ts')
  const versionMod = await import('../../lib/container/version.ts')
  const runtime = await import('../../lib/runtime/container.ts')

  const storage = await mkdtemp(join('/var/tmp', 'rotv-bench-storage-'))
  const storageConf = join(storage, 'storage.conf')
  const graphRoot = join(storage, 'graph')
  await writeFile(storageConf, `[storage]\ndriver = "overlay"\ngraphroot = "${graphRoot}"\nrunroot = "${join(storage, 'run')}"\n`)
  const previousStorageConf = process.env.CONTAINERS_STORAGE_CONF
  process.env.CONTAINERS_STORAGE_CONF = storageConf // every podman call below (lib's included) inherits it
  // `rm --all` / `rmi --all` below must only ever see the private store, never the machine's shared one.
  const inPrivateStore = async () => {
    const r = await engineMod.runEngine(engine, ['info', '--format', '{{.Store.GraphRoot}}'], { timeoutMs: 60_000 })
    return r.code === 0 && r.stdout.trim() === graphRoot
  }
  cleanup.add(`private image store ${storage}`, async () => {
    if (await inPrivateStore()) {
      await engineMod.runEngine(engine, ['rm', '--all', '--force'], { timeoutMs: 120_000 })
      await engineMod.runEngine(engine, ['rmi', '--all', '--force'], { timeoutMs: 300_000 })
    }
    if (previousStorageConf === undefined) delete process.env.CONTAINERS_STORAGE_CONF
    else process.env.CONTAINERS_STORAGE_CONF = previousStorageConf
    await rm(storage, { recursive: true, force: true })
  })
  if (!(await inPrivateStore())) return skipped(`podman ignored CONTAINERS_STORAGE_CONF=${storageConf}; not building in the shared store`)
  log(`container: importing the base image ${helpers.BASE_IMAGE} into a private store ${storage} (not timed)`)
  await helpers.ensureBaseImage()
  const ctx = await mkdtemp(join(tmpdir(), 'rotv-bench-ctx-'))
  cleanup.add(`build context ${ctx}`, () => rm(ctx, { recursive: true, force: true }))
  await run('sh', ['-c', `git -C "$1" archive HEAD | tar -x -C "$2"`, 'sh', opts.repoRoot, ctx], { maxBuffer: 16 * 1024 * 1024 })
  const ca = process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS) ? process.env.NODE_EXTRA_CA_CERTS : undefined
  const out: CaseResult[] = []

  // Full build: once (it takes minutes; its n is 1 whatever --repeat says).
  const full = await attempt('container:full-build', async () => {
    log('container: full image build')
    const r = await buildMod.buildImage({ engine, contextDir: ctx, tag: BENCH_IMAGE, baseImage: helpers.BASE_IMAGE, caFile: ca, signal: cleanup.signal })
    log(`container: full build ${(r.durationMs / 1000).toFixed(1)} s (${buildMod.describeStages(r.stages)})`)
    return [{ ms: r.durationMs }]
  }, 'buildImage in an empty store: Debian packages (PostgreSQL 17, Node.js, Chromium), npm ci x2, Vite build, app')
  out.push(full)
  if (full.status !== 'ok') return [...out, ...skipped('the full build failed').slice(1)]

  let stagesNote = ''
  out.push(await attempt('container:bump-rebuild', async () => {
    const samples: Sample[] = []
    for (let rep = 1; rep <= opts.repeat; rep++) {
      const started = performance.now() // bump + build, as the task runs them
      const bumped = await versionMod.bumpVersion({ containerfile: join(ctx, 'Containerfile'), packageJson: join(ctx, 'package.json') }, 'patch')
      const result = await buildMod.buildImage({ engine, contextDir: ctx, tag: BENCH_IMAGE, baseImage: helpers.BASE_IMAGE, caFile: ca, signal: cleanup.signal })
      const ms = performance.now() - started
      stagesNote = buildMod.describeStages(result.stages)
      log(`container: bump ${bumped.from} -> ${bumped.to} + rebuild #${rep}: ${(ms / 1000).toFixed(1)} s (${stagesNote})`)
      samples.push({ ms })
    }
    return samples
  }, ''))
  out.at(-1)!.note = `bumpVersion + buildImage (what \`bump-version patch\` runs); stages: ${stagesNote}`

  // Starts: each cold start gets a fresh data home (empty container warm cache); warm starts reuse the last.
  const snapshot = {
    name: SNAPSHOT_NAME,
    sha256: opts.snapshot.manifest.sha256,
    file: join(opts.snapshot.storeHome, 'snapshots', SNAPSHOT_NAME, opts.snapshot.manifest.dataFile),
    sqlBytes: opts.snapshot.manifest.uncompressedBytes,
    serverVersion: opts.snapshot.manifest.serverVersion,
    pgDumpVersion: opts.snapshot.manifest.pgDumpVersion,
  }
  const name = `rotv-bench-${process.pid}`
  const newSettings = async () => {
    const home = await mkdtemp(join(tmpdir(), 'rotv-bench-chome-'))
    const dispose = cleanup.add(`container ${name} (home ${home})`, async () => {
      await runtime.stopContainer(home, 10).catch(() => engineMod.runEngine(engine, ['rm', '--force', name]))
      await rm(home, { recursive: true, force: true })
    })
    const settings = {
      home,
      image: BENCH_IMAGE,
      name,
      appPort: await freePort(),
      pgPort: await freePort(),
      publishAddress: '127.0.0.1',
      dbName: 'rotv',
      tmpfsLimitBytes: Math.max(2 * 1024 ** 3, snapshot.sqlBytes * 4),
      clusterCacheDir: join(home, 'container-clusters'),
      appEnv: { SESSION_SECRET: randomBytes(32).toString('hex') },
    }
    return { settings, dispose }
  }
  const startOnce = async (settings: Awaited<ReturnType<typeof newSettings>>['settings'], expect: string): Promise<Sample> => {
    const started = performance.now()
    const wallStart = Date.now()
    const r = await runtime.startContainer(settings, { snapshot, signal: cleanup.signal, healthTimeoutMs: 600_000 })
    const ms = performance.now() - started
    if (r.state.prepared && r.state.prepared !== expect) throw new Error(`expected a ${expect} container start, got "${r.state.prepared}"`)
    const logs = await engineMod.runEngine(engine, ['logs', '--timestamps', settings.name], { timeoutMs: 60_000 })
    // No peak RSS: the work happens in podman and inside the container, not in a runner process of ours.
    return { ms, phases: containerPhases(`${logs.stdout}\n${logs.stderr}`, wallStart, wallStart + ms) }
  }
  let last: Awaited<ReturnType<typeof newSettings>> | undefined
  out.push(await attempt('container:cold-start', async () => {
    const samples: Sample[] = []
    for (let rep = 1; rep <= opts.repeat; rep++) {
      if (last) await last.dispose()
      last = await newSettings()
      const s = await startOnce(last.settings, 'imported')
      await runtime.stopContainer(last.settings.home, 30)
      log(`container: cold start #${rep}: ${(s.ms / 1000).toFixed(2)} s`)
      samples.push(s)
    }
    return samples
  }, 'podman run, import inside (supervisor), migrations, warm cluster saved, app boot'))
  out.push(await attempt('container:warm-start', async () => {
    if (!last) throw new Error('no cold start to warm from')
    const l = last
    const samples: Sample[] = []
    for (let rep = 1; rep <= opts.repeat; rep++) {
      const s = await startOnce(l.settings, 'warm')
      await runtime.stopContainer(l.settings.home, 30)
      log(`container: warm start #${rep}: ${(s.ms / 1000).toFixed(2)} s`)
      samples.push(s)
    }
    return samples
  }, 'podman run, warm cluster copied onto the container tmpfs, app boot'))
  if (last) await last.dispose()
  return out

  async function attempt(id: ContainerCaseId, fn: () => Promise<Sample[]>, note: string): Promise<CaseResult> {
    try {
      return { id, label: LABELS[id], status: 'ok', samples: await fn(), note }
    } catch (err) {
      if (cleanup.wasInterrupted) throw err
      log(`${id} failed: ${(err as Error).message}`)
      return { id, label: LABELS[id], status: 'failed', reason: (err as Error).message.split('\n')[0], samples: [], note }
    }
  }
}

/**
 * Where a container start spends its time, from the supervisor's own timestamped log lines
 * (`podman logs --timestamps`): up to its first line (podman run, runc, tini, entrypoint, node + tsx
 * loading the supervisor), up to "database ready" (warm copy or import, migrations, pristine copy),
 * and the rest (app boot, health polling, the runtime's own bookkeeping).
 */
export function containerPhases(logText: string, startMs: number, endMs: number): Record<string, number> | undefined {
  const lines = logText.split('\n').map((l) => /^(\S+)\s+(.*)$/.exec(l)).filter((m): m is RegExpExecArray => Boolean(m && m[2]!.startsWith('[rotv-entrypoint]')))
  const at = (m: RegExpExecArray | undefined) => (m ? Date.parse(m[1]!.replace(/(\.\d{3})\d*/, '$1')) : NaN)
  const first = at(lines[0])
  const ready = at(lines.find((m) => m[2]!.includes('database ready')))
  if (!Number.isFinite(first) || !Number.isFinite(ready)) return undefined
  return {
    'podman run to the supervisor\'s first line (runc, entrypoint, node + tsx)': first - startMs,
    'prepare database (warm copy or import, migrations, pristine copy)': ready - first,
    'app boot to /api/health': endMs - ready,
  }
}
