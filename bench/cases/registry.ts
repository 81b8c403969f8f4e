// Team sharing through a registry (Debian's docker-registry on 127.0.0.1, plain HTTP, started here):
// push of the stored snapshot, and a pull of it into a fresh data home, against the plain pull of the
// same dump from a file, measured in the same run. Each push goes to a new repository, so none of its
// blobs is already there (what a second, unchanged push skips is in the test, not here).
// Then a team's first start, both ways in the same run, alternating: pull from the registry (the
// artifact carries the warm cluster a first data home made and pushed) then start to /api/health, vs
// seed from production over ssh then start (a cold import) to /api/health. Each half runs in a worker
// process of its own, in a new data home; the figure is the sum of the two halves.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { migrationsDigest } from '../../lib/migrations.ts'
import { resolveBinaries } from '../../lib/postgres/binaries.ts'
import { pushSnapshot, registrySource, type RegistryAccess } from '../../lib/registry/index.ts'
import { openStore } from '../../lib/snapshots/index.ts'
import type { SourceSpec } from '../../lib/sources/types.ts'
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.ts'
import type { Cleanup } from '../cleanup.ts'
import { runWorker } from '../worker-client.ts'
import { HostEnvironment, SNAPSHOT_NAME, type StoredSnapshot } from './host.ts'
import { sshSpec, type SeedFixture } from './seed.ts'
import type { CaseResult, Sample } from '../types.ts'

export interface RegistryCaseOptions {
  storeHome: string
  snapshotName: string
  repeat: number
  cleanup: Cleanup
  log: (message: string) => void
  /** With it, also the team's first start: pull then start vs seed then start. */
  teamStart?: { repoRoot: string; stored: StoredSnapshot; seedFixture: () => Promise<SeedFixture> }
}

export async function runRegistryCases(o: RegistryCaseOptions): Promise<CaseResult[]> {
  const push = { id: 'registry:push' as const, label: 'snapshots push to a registry (loopback)', note: 'skopeo copy of the OCI layout (content-defined chunks + config) to docker-registry on 127.0.0.1, plain HTTP; a new repository each time' }
  const pull = { id: 'registry:pull' as const, label: 'snapshots pull from a registry into a new data home', note: 'skopeo copy to a layout, every digest verified, then the store\'s pull (decompress, verify, brotli at rest, fsync, commit)' }
  try {
    const reg = await startRegistry({ tls: false })
    o.cleanup.add(`registry ${reg.host}`, () => reg.close())
    const access = { tlsVerify: false }
    const store = openStore(o.storeHome)
    const pushes: Sample[] = []
    for (let rep = 1; rep <= o.repeat; rep++) {
      const started = performance.now()
      await pushSnapshot({ store, name: o.snapshotName, ref: `${reg.host}/bench/rotv-${rep}:${o.snapshotName}`, access, allowPersonalData: true, signal: o.cleanup.signal })
      pushes.push({ ms: performance.now() - started })
      o.log(`registry push #${rep}: ${(pushes.at(-1)!.ms / 1000).toFixed(2)} s`)
    }
    const pulls: Sample[] = []
    for (let rep = 1; rep <= o.repeat; rep++) {
      const home = await mkdtemp(join(tmpdir(), 'rotv-bench-pull-'))
      try {
        const started = performance.now()
        await openStore(home).pull(registrySource({ name: 'production', kind: 'registry', ref: `${reg.host}/bench/rotv-1:${o.snapshotName}`, registry: { ...access, workDir: join(home, 'tmp') } }), { as: 'production', signal: o.cleanup.signal })
        pulls.push({ ms: performance.now() - started })
        o.log(`registry pull #${rep}: ${(pulls.at(-1)!.ms / 1000).toFixed(2)} s`)
      } finally {
        await rm(home, { recursive: true, force: true })
      }
    }
    const rows: CaseResult[] = [{ ...push, status: 'ok', samples: pushes }, { ...pull, status: 'ok', samples: pulls }]
    if (o.teamStart) rows.push(...(await runTeamStartCases(o, o.teamStart, reg)))
    return rows
  } catch (err) {
    if (o.cleanup.wasInterrupted) throw err
    const reason = (err as Error).message.split('\n')[0]
    o.log(`registry failed: ${reason}`)
    return [{ ...push, status: 'failed', reason, samples: [] }, { ...pull, status: 'failed', reason, samples: [] }]
  }
}

const PULL_START = { id: 'registry:pull-start' as const, label: 'first start from the registry (pull, then start to health)', note: 'new data home: snapshots pull (the artifact carries the warm cluster) + start to /api/health, each in a worker process; the ratio is against seed-start in the same run' }
const SEED_START = { id: 'registry:seed-start' as const, label: 'first start from production (seed over ssh, then start to health)', note: 'new data home: seed over ssh (gzip -1 on the wire) + start to /api/health (cold import, migrations), each in a worker process' }

async function runTeamStartCases(o: RegistryCaseOptions, team: NonNullable<RegistryCaseOptions['teamStart']>, reg: TestRegistry): Promise<CaseResult[]> {
  try {
    const access: RegistryAccess = { tlsVerify: false }
    const ref = `${reg.host}/bench/team:${SNAPSHOT_NAME}`
    // Untimed: the nightly machine's part. A first data home starts once (its warm cluster saved at stop) and pushes.
    o.log('team start: a first data home starts once and pushes the snapshot with its warm cluster (not timed)')
    const first = await HostEnvironment.create(team.repoRoot, team.stored, o.cleanup)
    try {
      await first.start()
      await first.stop()
      const binaries = await resolveBinaries()
      const pushed = await pushSnapshot({
        store: openStore(team.stored.storeHome), name: team.stored.manifest.name, ref, access, allowPersonalData: true, signal: o.cleanup.signal,
        cluster: { cacheDir: join(first.settings.home, 'clusters'), pgVersion: binaries.version.full, migrationsDigest: await migrationsDigest(join(team.repoRoot, 'app', 'migrations')) },
      })
      if (!pushed.cluster) throw new Error('the first data home had no warm cluster to push')
    } finally {
      await first.dispose()
    }
    const fixture = await team.seedFixture()
    const pullStarts: Sample[] = []
    const seedStarts: Sample[] = []
    // Alternating, so a machine that speeds up or slows down during the run shifts both alike.
    for (let rep = 1; rep <= o.repeat; rep++) {
      pullStarts.push(await firstStart(o, team, 'warm', (storeHome, home) => ({ name: SNAPSHOT_NAME, kind: 'registry', ref, registry: { ...access, workDir: join(storeHome, 'registry'), clusterCacheDir: join(home, 'clusters') } })))
      o.log(`registry:pull-start #${rep}: ${(pullStarts.at(-1)!.ms / 1000).toFixed(2)} s`)
      seedStarts.push(await firstStart(o, team, 'imported', () => ({ ...sshSpec(fixture, true), name: SNAPSHOT_NAME })))
      o.log(`registry:seed-start #${rep}: ${(seedStarts.at(-1)!.ms / 1000).toFixed(2)} s`)
    }
    return [{ ...PULL_START, status: 'ok', samples: pullStarts }, { ...SEED_START, status: 'ok', samples: seedStarts }]
  } catch (err) {
    if (o.cleanup.wasInterrupted) throw err
    const reason = (err as Error).message.split('\n')[0]
    o.log(`team start failed: ${reason}`)
    return [{ ...PULL_START, status: 'failed', reason, samples: [] }, { ...SEED_START, status: 'failed', reason, samples: [] }]
  }
}

/** A new data home: the pull (worker), then the start to health (worker); the sum, with the start's phases. */
async function firstStart(o: RegistryCaseOptions, team: NonNullable<RegistryCaseOptions['teamStart']>, expected: string, spec: (storeHome: string, home: string) => SourceSpec): Promise<Sample> {
  const storeHome = await mkdtemp(join(tmpdir(), 'rotv-bench-team-'))
  const undo = o.cleanup.add(`team store ${storeHome}`, () => rm(storeHome, { recursive: true, force: true }))
  const env = await HostEnvironment.create(team.repoRoot, { ...team.stored, storeHome }, o.cleanup)
  try {
    const pulled = await runWorker({ kind: 'seed-pull', home: storeHome, spec: spec(storeHome, env.settings.home) }, o.cleanup.signal)
    if (expected === 'warm' && pulled.manifest?.sha256 !== team.stored.manifest.sha256) throw new Error('the snapshot pulled from the registry is not the one pushed')
    const started = await env.start()
    // The comparison is only fair if each side did what it claims: warm from the registry, imported after seed.
    if (started.prepared !== expected) throw new Error(`the start was ${started.prepared}, expected ${expected}`)
    return { ms: pulled.ms + started.ms, peakRssBytes: Math.max(pulled.maxRssBytes ?? 0, started.peakRssBytes ?? 0) || undefined, phases: { pull: pulled.ms, ...started.phases } }
  } finally {
    await env.dispose()
    await undo()
  }
}
