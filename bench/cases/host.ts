// Cases 2-4 through the runner's own engine (lib/runtime/host.ts), the code `start` and `reset` run:
//   cold  start with an empty warm cache (a fresh data home): import, migrations, pristine copy, save
//         the warm cluster, app start, until /api/health answers;
//   warm  start again on the same snapshot (the cached cluster is copied into memory), to health;
//   reset while running (the spare copy swapped in; the copy for the next reset is made in the
//         background and waited for, untimed, before the next repetition).
// The snapshot is put in the store (store.pull of a `file` source) before any timer starts. Each timed
// operation runs in a worker process of its own (worker.ts), so its peak RSS is its own.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { DEFAULT_TMPFS_LIMIT_BYTES } from '../../lib/postgres/index.ts'
import { ensureBuilt } from '../../lib/runtime/build-step.ts'
import { appLaunch, migrationStep } from '../../lib/project/launch.ts'
import reference from '../../project.config.ts'
import { stopHost, type HostSettings } from '../../lib/runtime/host.ts'
import { readState } from '../../lib/runtime/state.ts'
import { openStore, type SnapshotManifest } from '../../lib/snapshots/index.ts'
import { freePort } from '../../test/helpers/production-postgres.ts'
import type { Cleanup } from '../cleanup.ts'
import { diskUsageBytes } from '../du.ts'
import { runWorker } from '../worker-client.ts'
import type { Sample } from '../types.ts'

export const SNAPSHOT_NAME = 'bench'

export interface StoredSnapshot {
  storeHome: string
  manifest: SnapshotManifest
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
  return { storeHome, manifest, pullMs }
}

/** A data home of the runner (logs, run state, warm clusters) with its own ports; stopped and removed at cleanup. */
export class HostEnvironment {
  private constructor(
    readonly settings: HostSettings,
    private readonly storeHome: string,
    private readonly cleanup: Cleanup,
    readonly dispose: () => Promise<void>,
  ) {}

  static async create(repoRoot: string, stored: StoredSnapshot, cleanup: Cleanup): Promise<HostEnvironment> {
    const home = await mkdtemp(join(tmpdir(), 'rotv-bench-home-'))
    const settings: HostSettings = {
      home,
      app: appLaunch(repoRoot, reference),
      migrations: migrationStep(repoRoot, reference, {}),
      pgPort: await freePort(),
      appPort: await freePort(),
      dbName: 'rotv',
      extraDatabases: ['rotv_test'],
      tmpfsLimitBytes: Math.max(DEFAULT_TMPFS_LIMIT_BYTES, stored.manifest.uncompressedBytes * 4),
      appEnv: { SESSION_SECRET: randomBytes(32).toString('hex') },
    }
    const dispose = cleanup.add(`runner environment ${home}`, async () => {
      await stopHost(home)
      await rm(home, { recursive: true, force: true })
    })
    return new HostEnvironment(settings, stored.storeHome, cleanup, dispose)
  }

  /** startHost to a healthy /api/health, in a worker process; phases come from the runner's progress messages. */
  async start(): Promise<Sample & { prepared: string }> {
    const r = await runWorker({ kind: 'host-start', settings: this.settings, storeHome: this.storeHome, snapshotName: SNAPSHOT_NAME }, this.cleanup.signal)
    const tmpfsBytes = r.scratchDir ? await diskUsageBytes(r.scratchDir) : undefined
    return { ms: r.ms, peakRssBytes: r.maxRssBytes, tmpfsBytes, phases: r.phases, prepared: r.prepared ?? 'unknown' }
  }

  async stop(): Promise<void> {
    await stopHost(this.settings.home)
  }

  /** Remove the warm clusters (not initdb's skeleton): the next start meets a snapshot it never imported. */
  async forgetWarmClusters(): Promise<void> {
    const dir = join(this.settings.home, 'clusters')
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith('.')) await rm(join(dir, name), { recursive: true, force: true })
    }
  }

  /** The last background save's own duration, from its log line ("saved ... in N ms"). */
  async lastWarmSave(): Promise<Sample | undefined> {
    const text = await readFile(join(this.settings.home, 'logs', 'warm-save.log'), 'utf8').catch(() => '')
    const m = [...text.matchAll(/: saved \d+ files .* in (\d+) ms$/gm)].at(-1)
    return m ? { ms: Number(m[1]) } : undefined
  }

  /**
   * Wait (untimed) until the spare copy for the next reset is there, as it is for a user who does
   * anything at all between resets; its own duration comes from its log line ("ready in N ms").
   */
  async spareReady(): Promise<Sample | undefined> {
    const deadline = Date.now() + 120_000
    while (!(await this.sql("SELECT 1 FROM pg_database WHERE datname = 'rotv__rotv_spare'")).length) {
      if (Date.now() > deadline) return undefined
      await new Promise((r) => setTimeout(r, 25))
    }
    const text = await readFile(join(this.settings.home, 'logs', 'spare.log'), 'utf8').catch(() => '')
    const m = [...text.matchAll(/: ready in (\d+) ms/g)].at(-1)
    return m ? { ms: Number(m[1]) } : undefined
  }

  /** A change the reset has to undo (not timed), then resetHost in a worker (timed there). */
  async reset(): Promise<Sample & { via: string }> {
    await this.sql("INSERT INTO pois (slug, name, poi_type, latitude, longitude) VALUES ('bench-poi', 'Bench POI', 'trail', 41.2, -81.5)")
    const r = await runWorker({ kind: 'host-reset', home: this.settings.home }, this.cleanup.signal)
    const left = await this.sql("SELECT count(*)::int AS n FROM pois WHERE slug = 'bench-poi'")
    if ((left[0] as { n: number }).n !== 0) throw new Error('reset did not undo the change')
    const state = await readState(this.settings.home)
    return { ms: r.ms, via: r.via ?? 'unknown', peakRssBytes: r.maxRssBytes, tmpfsBytes: state?.scratchDir ? await diskUsageBytes(state.scratchDir) : undefined }
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
  await ensureBuilt(appLaunch(repoRoot, reference)!.build!, signal)
}
