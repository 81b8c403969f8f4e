// Cases 2-4 through the runner's own engine (lib/runtime/host.ts), the code `start` and `reset` run:
//   cold  start with an empty warm cache (a fresh data home): import, migrations, pristine copy, save
//         the warm cluster, app start, until /api/health answers;
//   warm  start again on the same snapshot (the cached cluster is copied into memory), to health;
//   reset while running (template-database copy).
// The snapshot is put in the store (store.pull of a `file` source) before any timer starts.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { DEFAULT_TMPFS_LIMIT_BYTES } from '../../lib/postgres/index.ts'
import { snapshotHandle } from '../../lib/runtime/from-config.ts'
import { ensureFrontendBuilt } from '../../lib/runtime/frontend.ts'
import type { SnapshotHandle } from '../../lib/runtime/database.ts'
import { resetHost, startHost, stopHost, type HostSettings } from '../../lib/runtime/host.ts'
import { readState } from '../../lib/runtime/state.ts'
import { openStore, type SnapshotManifest } from '../../lib/snapshots/index.ts'
import { freePort } from '../../test/helpers/production-postgres.ts'
import type { Cleanup } from '../cleanup.ts'
import { diskUsageBytes } from '../du.ts'
import { PhaseClock } from '../phases.ts'
import { watchRss } from '../rss.ts'
import type { Sample } from '../types.ts'

export const SNAPSHOT_NAME = 'bench'

export interface StoredSnapshot {
  storeHome: string
  manifest: SnapshotManifest
  handle: SnapshotHandle
  pullMs: number
}

/** Pulls the dump file into a store of its own (not timed as part of any start). */
export async function storeSnapshot(dumpPath: string, cleanup: Cleanup): Promise<StoredSnapshot> {
  const storeHome = await mkdtemp(join(tmpdir(), 'rotv-bench-store-'))
  cleanup.add(`snapshot store ${storeHome}`, () => rm(storeHome, { recursive: true, force: true }))
  const store = openStore(storeHome)
  const started = performance.now()
  const manifest = await store.pull({ name: SNAPSHOT_NAME, kind: 'file', file: dumpPath }, { signal: cleanup.signal })
  const pullMs = performance.now() - started
  return { storeHome, manifest, handle: await snapshotHandle(store, SNAPSHOT_NAME), pullMs }
}

/** A data home of the runner (logs, run state, warm clusters) with its own ports; stopped and removed at cleanup. */
export class HostEnvironment {
  private constructor(
    readonly settings: HostSettings,
    private readonly snapshot: SnapshotHandle,
    private readonly cleanup: Cleanup,
    readonly dispose: () => Promise<void>,
  ) {}

  static async create(repoRoot: string, snapshot: SnapshotHandle, cleanup: Cleanup): Promise<HostEnvironment> {
    const home = await mkdtemp(join(tmpdir(), 'rotv-bench-home-'))
    const settings: HostSettings = {
      home,
      appDir: join(repoRoot, 'app'),
      pgPort: await freePort(),
      appPort: await freePort(),
      dbName: 'rotv',
      extraDatabases: ['rotv_test'],
      tmpfsLimitBytes: Math.max(DEFAULT_TMPFS_LIMIT_BYTES, snapshot.sqlBytes * 4),
      appEnv: { SESSION_SECRET: randomBytes(32).toString('hex') },
    }
    const dispose = cleanup.add(`runner environment ${home}`, async () => {
      await stopHost(home)
      await rm(home, { recursive: true, force: true })
    })
    return new HostEnvironment(settings, snapshot, cleanup, dispose)
  }

  /** startHost to a healthy /api/health; the sample's phases come from the runner's progress messages. */
  async start(): Promise<Sample & { prepared: string }> {
    const clock = new PhaseClock()
    const rss = watchRss(process.pid, { useHighWaterMark: false })
    let result
    try {
      result = await startHost(this.settings, { snapshot: this.snapshot, signal: this.cleanup.signal, onProgress: (m) => clock.message(m), healthTimeoutMs: 300_000 })
    } finally {
      clock.end()
    }
    const peakRssBytes = rss.stop()
    const tmpfsBytes = result.state.scratchDir ? await diskUsageBytes(result.state.scratchDir) : undefined
    return { ms: clock.totalMs(), peakRssBytes, tmpfsBytes, phases: clock.phases(), prepared: result.state.prepared }
  }

  async stop(): Promise<void> {
    await stopHost(this.settings.home)
  }

  /** A change the reset has to undo (not timed), then resetHost (timed). */
  async reset(): Promise<Sample> {
    await this.sql("INSERT INTO pois (slug, name, poi_type, latitude, longitude) VALUES ('bench-poi', 'Bench POI', 'trail', 41.2, -81.5)")
    const rss = watchRss(process.pid, { useHighWaterMark: false })
    const started = performance.now()
    await resetHost(this.settings.home)
    const ms = performance.now() - started
    const peakRssBytes = rss.stop()
    const left = await this.sql("SELECT count(*)::int AS n FROM pois WHERE slug = 'bench-poi'")
    if ((left[0] as { n: number }).n !== 0) throw new Error('reset did not undo the change')
    const state = await readState(this.settings.home)
    return { ms, peakRssBytes, tmpfsBytes: state?.scratchDir ? await diskUsageBytes(state.scratchDir) : undefined }
  }

  private async sql(text: string): Promise<unknown[]> {
    const client = new pg.Client({ host: '127.0.0.1', port: this.settings.pgPort, user: 'postgres', database: this.settings.dbName })
    await client.connect()
    try {
      return (await client.query(text)).rows
    } finally {
      await client.end().catch(() => {})
    }
  }
}

/** Builds app/public once before any timer, so no start pays for a first Vite build. */
export async function prebuildFrontend(repoRoot: string, signal: AbortSignal): Promise<void> {
  await ensureFrontendBuilt(join(repoRoot, 'app'), signal)
}
