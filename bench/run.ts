// `npm run bench`: the runner against the original method, side by side in one run.
// Generates a production-shaped dump of --size, then measures each requested case --repeat times and
// prints (and writes under bench/results/) one table with min, median, ratio to the original method,
// peak RSS and tmpfs use, next to the machine, load average, dump size and PostgreSQL versions.
// Nothing here asserts a timing: the figures are reported as measured.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AT_REST_COMPRESSION, BROTLI_QUALITY } from '../lib/snapshots/index.ts'
import { parseArgs, UsageError, type BenchOptions } from './args.ts'
import { baselineContext, runBaseline } from './cases/baseline.ts'
import { runContainerCases } from './cases/container.ts'
import { LOADER_SMALL_SIZE, runLoaderCases } from './cases/loader.ts'
import { HostEnvironment, prebuildFrontend, storeSnapshot, type StoredSnapshot } from './cases/host.ts'
import { runSeedPull, startSeedFixture, type SeedFixture } from './cases/seed.ts'
import { runAnonymizePulls } from './cases/anonymize.ts'
import { runRegistryCases } from './cases/registry.ts'
import { Cleanup } from './cleanup.ts'
import { openTestDatabases } from '../lib/test-db/index.ts'
import { writeDemoDump } from './dump.ts'
import { gzipSize } from './gzip.ts'
import { loadAverage, machineFacts } from './machine.ts'
import { addRatios, checkTargets, medianPhases, mib, renderText, secs, summarize, writeResults } from './report.ts'
import type { BenchReport, CaseResult, Sample, SizeFigures } from './types.ts'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

async function main(): Promise<number> {
  let opts: BenchOptions
  try {
    opts = parseArgs(process.argv.slice(2), { outDir: join(repoRoot, 'bench', 'results') })
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`)
      return 2
    }
    throw err
  }
  const cleanup = new Cleanup()
  cleanup.installSignalHandlers((sig) => log(`${sig}: stopping what the benchmark started (again to exit at once)`))
  const startedAt = new Date().toISOString()
  const machine = await machineFacts()
  log(`load average ${machine.loadAverageAtStart.join(' ')}; cases ${opts.cases.join(',')}; repeat ${opts.repeat}`)
  const want = (id: string) => (opts.cases as string[]).includes(id)
  const cases: CaseResult[] = []
  const notes: string[] = []
  let sizes: SizeFigures | undefined
  let dump = { path: '', bytes: 0, generateMs: 0 }
  let coldSamples: Sample[] = []
  // Production PostgreSQL 15 + sshd with the demo data: loaded once (not timed), for the seed and registry cases.
  let fixture: Promise<SeedFixture> | undefined
  const seedFixture = (): Promise<SeedFixture> => {
    if (!fixture) {
      log('starting production PostgreSQL 15 + loopback sshd and loading the same demo data (not timed)')
      fixture = startSeedFixture({ size: opts.sizeBytes, seed: opts.seed, cleanup }).then((f) => {
        log(`production loaded in ${secs(f.loadMs)}`)
        machine.postgres.productionServer = f.serverVersion
        machine.postgres.pgDump = f.pgDumpVersion
        return f
      })
    }
    return fixture
  }

  try {
    const work = await mkdtemp(join(tmpdir(), 'rotv-bench-'))
    cleanup.add(`work dir ${work}`, () => rm(work, { recursive: true, force: true }))
    log(`generating a ${opts.sizeText} demo dump`)
    dump = await writeDemoDump(join(work, 'dump.sql'), { size: opts.sizeBytes, seed: opts.seed, signal: cleanup.signal })
    log(`dump: ${mib(dump.bytes)} in ${secs(dump.generateMs)}`)

    const baseline = want('baseline') ? await baselineRunner(cleanup, dump.path) : undefined
    // Alone, the baseline runs first; with the cold start, their repetitions alternate (below), so a
    // machine that speeds up or slows down during the run shifts both alike.
    if (baseline && !want('cold')) cases.push(await measure('baseline', BASELINE_LABEL, opts.repeat, cleanup, async () => baseline, BASELINE_NOTE))

    let stored: StoredSnapshot | undefined
    if (['cold', 'warm', 'reset', 'seed', 'registry', 'container'].some(want)) {
      log('putting the dump in a snapshot store (file source; not timed as a case)')
      stored = await storeSnapshot(dump.path, cleanup)
      log(`stored: ${mib(stored.manifest.compressedBytes)} at rest in ${secs(stored.pullMs)}`)
      await prebuildFrontend(repoRoot, cleanup.signal)
    }

    if (stored && ['cold', 'warm', 'reset'].some(want)) {
      const host = await hostCases(opts, stored, cleanup, want, baseline)
      cases.push(...host.cases)
      coldSamples = host.coldSamples
    }

    if (want('seed') && stored) {
      log('gzip -6 of the dump (the at-rest reference)')
      const gz = await gzipSize(dump.path, 6, cleanup.signal)
      sizes = { plainBytes: dump.bytes, atRestBytes: stored.manifest.compressedBytes, atRestCompression: `${AT_REST_COMPRESSION} q${BROTLI_QUALITY}`, gzip6Bytes: gz.bytes, gzip6Ms: gz.ms }
      cases.push(...(await seedCases(opts, cleanup, sizes, seedFixture)))
    }

    if (want('anonymize')) {
      log('anonymized pull vs plain pull of the same dump (file source), alternating')
      cases.push(...(await anonymizeCases(opts, cleanup, dump.path)))
    }

    if (want('registry') && stored) {
      log('push and pull of the stored snapshot through a registry on loopback')
      cases.push(...(await runRegistryCases({ storeHome: stored.storeHome, snapshotName: stored.manifest.name, repeat: opts.repeat, cleanup, log, teamStart: { repoRoot, stored, seedFixture } })))
    }

    if (want('loader')) {
      log(`loader vs psql -f on a small dump (${LOADER_SMALL_SIZE})`)
      const rows = await runLoaderCases({ repeat: opts.repeat, cleanup, log, seed: opts.seed })
      cases.push(...rows)
    }

    if (want('container')) {
      cases.push(...(await runContainerCases({ repoRoot, repeat: opts.repeat, cleanup, log, snapshot: stored })))
    }
  } catch (err) {
    if (!cleanup.wasInterrupted) throw err
  } finally {
    log('cleaning up')
    await cleanup.runAll()
  }
  if (cleanup.wasInterrupted) {
    log('interrupted; everything the benchmark started was stopped; no results written')
    return 130
  }

  const summarized = cases.map(summarize)
  addRatios(summarized)
  machine.loadAverageAtEnd = loadAverage()
  notes.push(
    'baseline stops at a loaded database; cold/warm starts go on to a running app answering /api/health (migrations checked, app booted), so the ratios understate the runner\'s advantage for the same end state',
    'timers run inside the worker process around the engine call (startHost, resetHost, store.pull); the process start itself (node + tsx, about what the CLI adds) is not in the figure',
    'peak RSS: getrusage maxRSS of the fresh Node.js process (tsx loader, as the CLI) that ran the one timed operation; for the baseline, psql\'s own VmHWM; the PostgreSQL server\'s and the app\'s memory are in neither; container rows have none (podman does the work)',
    'tmpfs used: du -sb of the case\'s data directory in /dev/shm after the case (warm start: one copy of the cluster; it holds the app database and its pristine template)',
    'cold start: the data home has run before (a new snapshot: no warm cluster of it), so initdb\'s result is copied from its skeleton; the first start in a new data home runs initdb and is its own row',
  )
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `npm run bench -- --size ${opts.sizeText} --cases ${opts.cases.join(',')} --repeat ${opts.repeat}`,
    options: { size: opts.sizeText, sizeBytes: opts.sizeBytes, cases: opts.cases, repeat: opts.repeat, seed: opts.seed },
    machine,
    dump: { path: dump.path, bytes: dump.bytes, generateMs: dump.generateMs, seed: opts.seed },
    cases: summarized,
    sizes,
    targets: checkTargets(summarized, sizes, opts.sizeBytes),
    coldStartProfile: medianPhases(coldSamples),
    warmStartProfile: medianPhases(summarized.find((c) => c.id === 'warm')?.samples ?? []),
    baselineProfile: medianPhases(summarized.find((c) => c.id === 'baseline')?.samples ?? []),
    containerProfiles: containerProfiles(summarized),
    notes,
  }
  process.stdout.write(renderText(report))
  const files = await writeResults(opts.outDir, report)
  log(`written: ${files.json}, ${files.md} (and latest.json, latest.md)`)
  return summarized.some((c) => c.status === 'failed') ? 1 : 0
}

function containerProfiles(cases: CaseResult[]): Record<string, Record<string, number>> | undefined {
  const out: Record<string, Record<string, number>> = {}
  for (const c of cases) {
    if (!c.id.startsWith('container:') || c.status !== 'ok') continue
    const p = medianPhases(c.samples)
    if (p) out[c.label] = p
  }
  return Object.keys(out).length ? out : undefined
}

/** Runs `repeat` repetitions; a failure becomes a failed row (the other cases still run). */
async function measure(
  id: CaseResult['id'],
  label: string,
  repeat: number,
  cleanup: Cleanup,
  setup: () => Promise<(rep: number) => Promise<Sample>>,
  note?: string,
): Promise<CaseResult> {
  const samples: Sample[] = []
  try {
    const once = await setup()
    for (let rep = 1; rep <= repeat; rep++) samples.push(await once(rep))
    return { id, label, status: 'ok', samples, note }
  } catch (err) {
    if (cleanup.wasInterrupted) throw err
    log(`${id} failed: ${(err as Error).message}`)
    return { id, label, status: 'failed', reason: (err as Error).message.split('\n')[0], samples, note }
  }
}

/** The same dump pulled plain and anonymized (shipped rules, detectors, leak scan), alternating. */
async function anonymizeCases(opts: BenchOptions, cleanup: Cleanup, dumpPath: string): Promise<CaseResult[]> {
  const plain = { id: 'anonymize:plain' as const, label: 'pull, plain (file source)', note: 'file -> verify -> brotli -> fsync -> commit, in the benchmark process' }
  const anon = { id: 'anonymize' as const, label: 'pull, anonymized (shipped rules)', note: 'the same pull through anonymize.config.ts: users rewritten, sessions dropped, detectors on every text column, leak scan (and its second pass, if needed)' }
  try {
    const r = await runAnonymizePulls(dumpPath, opts.repeat, cleanup.signal)
    log(`anonymize: plain ${r.plainPullMs.map(secs).join('/')}, anonymized ${r.anonymizedPullMs.map(secs).join('/')}`)
    return [
      { ...plain, status: 'ok', samples: r.plainPullMs.map((ms) => ({ ms })) },
      { ...anon, status: 'ok', samples: r.anonymizedPullMs.map((ms) => ({ ms })) },
    ]
  } catch (err) {
    if (cleanup.wasInterrupted) throw err
    const reason = (err as Error).message.split('\n')[0]
    log(`anonymize failed: ${reason}`)
    return [{ ...plain, status: 'failed', reason, samples: [] }, { ...anon, status: 'failed', reason, samples: [] }]
  }
}

const BASELINE_LABEL = 'original: initdb + start + psql -f (tmpfs)'
const BASELINE_NOTE = 'initdb, pg_ctl start, CREATE DATABASE, psql -f dump; PostgreSQL 17 defaults; no app'

async function baselineRunner(cleanup: Cleanup, dumpPath: string): Promise<(rep: number) => Promise<Sample>> {
  const ctx = await baselineContext()
  return (rep) => runBaseline(ctx, dumpPath, cleanup).then((s) => (log(`baseline #${rep}: ${secs(s.ms)}`), s))
}

async function hostCases(
  opts: BenchOptions,
  stored: StoredSnapshot,
  cleanup: Cleanup,
  want: (id: string) => boolean,
  baseline: ((rep: number) => Promise<Sample>) | undefined,
): Promise<{ cases: CaseResult[]; coldSamples: Sample[] }> {
  const out: CaseResult[] = []
  let env: HostEnvironment | undefined
  const coldSamples: Sample[] = []
  const warmSaves: Sample[] = []
  if (want('cold')) {
    // The very first start in a new data home also runs initdb (later ones copy its skeleton).
    out.push(await measure('cold:first-start', 'runner: first start in a new data home', 1, cleanup, async () => async () => {
      env = await HostEnvironment.create(repoRoot, stored, cleanup)
      const s = await env.start()
      if (s.prepared !== 'imported') throw new Error(`a first start should import, but it was "${s.prepared}"`)
      await env.stop()
      log(`first start in a new data home: ${secs(s.ms)}`)
      return s
    }, 'as the cold start, plus initdb (no skeleton yet)'))
    const baselineSamples: Sample[] = []
    const cold = await measure('cold', 'runner: cold start to /api/health', opts.repeat, cleanup, async () => async (rep) => {
      if (baseline) baselineSamples.push(await baseline(rep))
      // What a new snapshot meets: no warm cluster of it (removed), the data home otherwise used before.
      env ??= await HostEnvironment.create(repoRoot, stored, cleanup)
      await env.forgetWarmClusters()
      const s = await env.start()
      if (s.prepared !== 'imported') throw new Error(`a cold start should import, but it was "${s.prepared}"`)
      await env.stop()
      const save = await env.lastWarmSave()
      if (save) warmSaves.push(save)
      coldSamples.push(s)
      log(`cold #${rep}: ${secs(s.ms)}${save ? ` (warm cluster saved in the background in ${secs(save.ms)})` : ''}`)
      return s
    }, 'new snapshot: import, migrations, pristine copy, stage the warm cluster, app boot (initdb skeleton reused)')
    if (baseline) out.unshift({ id: 'baseline', label: BASELINE_LABEL, status: baselineSamples.length === opts.repeat ? 'ok' : 'failed', reason: cold.status === 'failed' ? cold.reason : undefined, samples: baselineSamples, note: `${BASELINE_NOTE}; runs alternate with the cold start's` })
    out.push(cold)
    if (warmSaves.length) {
      out.push({ id: 'cold:warm-save', label: 'background: warm cluster save after a cold start', status: 'ok', samples: warmSaves, note: 'after /api/health, off the critical path: stage + pristine template -> cache on disk (the save process\'s own timer)' })
    }
  }
  try {
    if (!want('warm') && !want('reset')) return { cases: out, coldSamples }
    if (!env) {
      log('priming the warm cache (an untimed cold start)')
      env = await HostEnvironment.create(repoRoot, stored, cleanup)
      await env.start()
      await env.stop()
    }
    const e = env
    let running = false
    if (want('warm')) {
      out.push(await measure('warm', 'runner: warm start to /api/health', opts.repeat, cleanup, async () => async (rep) => {
        if (running) await e.stop()
        const s = await e.start()
        running = true
        if (s.prepared !== 'warm') throw new Error(`a warm start should copy the cached cluster, but it was "${s.prepared}"`)
        log(`warm #${rep}: ${secs(s.ms)}`)
        return s
      }, 'copy cached cluster into /dev/shm, start PostgreSQL, app boot'))
    }
    if (want('reset')) {
      const spares: Sample[] = []
      let copies = 0
      out.push(await measure('reset', 'runner: reset while running', opts.repeat, cleanup, async () => {
        if (!running) {
          await e.start()
          running = true
        }
        return async (rep) => {
          const spare = await e.spareReady()
          if (spare) spares.push(spare)
          const s = await e.reset()
          log(`reset #${rep}: ${secs(s.ms)} (${s.via === 'spare' ? 'spare copy swapped in' : 'copied: no spare copy was ready'}${spare ? `; the spare was made in ${secs(spare.ms)}` : ''})`)
          if (s.via !== 'spare') copies++
          return s
        }
      }, 'the spare copy swapped in (drop, rename) and the next one asked for; the app keeps running; tmpfs used is right after the swap: the spare, made next, is one more copy of the database (the third copy a reset always needed)'))
      if (copies) out.at(-1)!.note += `; ${copies} of the resets found no spare copy and copied while timed`
      const next = await e.spareReady()
      if (next) spares.push(next)
      if (spares.length) {
        out.push({ id: 'reset:spare', label: 'background: spare copy for the next reset', status: 'ok', samples: spares, note: 'after start and after each reset, off the critical path: CREATE DATABASE ... TEMPLATE pristine STRATEGY FILE_COPY (the copy\'s own timer)' })
      }
      out.push(await measure('reset:test-db', 'a test database from a warm pool (acquire, from code)', Math.max(opts.repeat, 5), cleanup, async () => {
        // no cleanup of its own: the pool lives in the environment's in-memory cluster, discarded with it
        const pool = await openTestDatabases({ home: e.settings.home, size: 1 })
        return async (rep) => {
          await pool.fill() // untimed: a pool is made ahead of time
          const started = performance.now()
          const db = await pool.acquire()
          const ms = performance.now() - started
          if (!db.fromPool) throw new Error('the pool had no ready copy')
          await db.release()
          await pool.settle()
          log(`test database #${rep}: ${(ms).toFixed(1)} ms`)
          return { ms }
        }
      }, 'rotv-dev/test-db: openTestDatabases().acquire() takes a ready copy of the pristine snapshot by a rename (its release and the refill are not timed)'))
    }
    return { cases: out, coldSamples }
  } finally {
    if (env) await env.dispose()
  }
}

async function seedCases(opts: BenchOptions, cleanup: Cleanup, sizes: SizeFigures, seedFixture: () => Promise<SeedFixture>): Promise<CaseResult[]> {
  let fixture
  try {
    fixture = await seedFixture()
  } catch (err) {
    if (cleanup.wasInterrupted) throw err
    const reason = (err as Error).message.split('\n')[0]
    return [
      { id: 'seed:gzip', label: 'seed over ssh, gzip -1 on the wire', status: 'failed', reason, samples: [] },
      { id: 'seed:ssh-c', label: 'seed over ssh, ssh -C', status: 'failed', reason, samples: [] },
    ]
  }
  const f = fixture
  const variants = [
    { id: 'seed:gzip' as const, label: 'seed over ssh, gzip -1 on the wire', wire: true },
    { id: 'seed:ssh-c' as const, label: 'seed over ssh, ssh -C (no remote gzip)', wire: false },
  ]
  const out: CaseResult[] = []
  for (const v of variants) {
    out.push(await measure(v.id, v.label, opts.repeat, cleanup, async () => async (rep) => {
      const s = await runSeedPull(f, v.wire, cleanup)
      sizes.sshPlainBytes = s.manifest.uncompressedBytes
      sizes.sshAtRestBytes = s.manifest.compressedBytes
      log(`${v.id} #${rep}: ${secs(s.ms)} (${mib(s.manifest.compressedBytes)} at rest)`)
      return { ms: s.ms, peakRssBytes: s.peakRssBytes }
    }, 'ssh + remote pg_dump 15 -> decode -> verify -> brotli -> fsync -> commit'))
  }
  return out
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  },
)
