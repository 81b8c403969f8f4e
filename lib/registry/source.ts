// The `registry` snapshot source (`snapshots pull REF`, SEED_SOURCE=registry): skopeo copies the artifact
// into a layout directory under the data home, every blob is checked against its digest, and the plain SQL
// streams from the chunks into the store's ordinary pull (trailer check, compression, atomic commit). After
// the commit, a warm cluster carried along for this CPU architecture is adopted into the cluster cache
// under this home's key, so the first start is warm. Anything that fails leaves the store as it was.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describeError, RotvError } from '../errors.ts'
import { clusterCacheKey, importClusterEntry, makeIncomingDir } from '../postgres/cluster-cache.ts'
import type { SnapshotManifest } from '../snapshots/manifest.ts'
import type { DumpStream, SnapshotSource, SourceCompletion, SourceSpec } from '../sources/types.ts'
import { extractCluster, readLayout, sqlStream, type VerifiedArtifact } from './layout.ts'
import { LAYOUT_TAG } from './push.ts'
import { parseReference } from './reference.ts'
import { skopeoCopy } from './skopeo.ts'

export interface RegistrySourceHooks {
  onStatus?: (text: string) => void
  skopeoPath?: string
}

export interface RegistryPullReport {
  blobs: number
  bytes: number
  /** What became of a carried warm cluster. */
  cluster: 'none' | 'installed' | `skipped: ${string}`
}

export interface RegistrySource extends SnapshotSource {
  /** Filled in as the pull goes; final once the store's pull returned. */
  readonly report: RegistryPullReport
}

export function registrySource(spec: SourceSpec, hooks: RegistrySourceHooks = {}): RegistrySource {
  if (!spec.ref) {
    const v = spec.name === 'production' ? 'PRODUCTION_REGISTRY' : `${spec.name.toUpperCase()}_REGISTRY`
    throw new RotvError(`source "${spec.name}" (registry) has no reference`, { fix: `set ${v} to the team's snapshot reference, e.g. registry.example.com/team/rotv-snapshots:${spec.name}` })
  }
  const ref = parseReference(spec.ref)
  const access = spec.registry ?? {}
  const status = hooks.onStatus ?? (() => {})
  const report: RegistryPullReport = { blobs: 0, bytes: 0, cluster: 'none' }
  return {
    spec,
    report,
    describe: () => `registry ${ref.text}`,
    async open(opts = {}): Promise<DumpStream> {
      if (!access.workDir) throw new Error('registry source: spec.registry.workDir is unset')
      await mkdir(access.workDir, { recursive: true, mode: 0o700 })
      const dir = await mkdtemp(join(access.workDir, 'pull-'))
      let artifact: VerifiedArtifact
      try {
        let n = 0
        let written = 0
        const report = () => status(`downloading from ${ref.host}: ${Math.round(written / 2 ** 20)} MiB (blob ${n})`)
        await skopeoCopy({
          direction: 'pull',
          layoutDir: dir,
          layoutTag: LAYOUT_TAG,
          ref,
          access,
          signal: opts.signal,
          skopeoPath: hooks.skopeoPath,
          onLine: (line) => {
            if (!/^Copying (blob|config)/.test(line)) return
            n++
            report()
          },
          onBytes: (bytes) => {
            written = bytes
            report()
          },
        })
        status('checking every blob against its digest')
        artifact = await readLayout(dir, LAYOUT_TAG, ref.text)
      } catch (err) {
        await rm(dir, { recursive: true, force: true })
        throw err
      }
      report.blobs = artifact.chunks.length + 1 + (artifact.cluster ? 1 : 0)
      report.bytes = artifact.bytes
      let settle!: (c: SourceCompletion) => void
      const done = new Promise<SourceCompletion>((resolve) => (settle = resolve))
      const base = { exitCodes: {}, signals: {}, stderr: '' }
      const sql = sqlStream(artifact, ref.text)
      sql.once('end', () => settle({ ok: true, ...base }))
      sql.once('error', (err) => settle({ ok: false, ...base, stderr: (err as Error).message, error: err instanceof RotvError ? err : new RotvError((err as Error).message) }))
      sql.once('close', () => settle({ ok: false, ...base, error: new RotvError('the pull from the registry was stopped') }))
      const snap = artifact.config.snapshot
      return {
        stream: sql,
        format: 'plain',
        meta: { kind: 'registry', host: ref.host, description: `registry ${ref.text}${snap.source?.description ? ` (from ${snap.source.description})` : ''}` },
        done,
        carried: { anonymization: snap.anonymized ? snap.anonymization : undefined, anonymized: snap.anonymized, synthetic: snap.synthetic === true, pulledAt: new Date(snap.pulledAt) },
        finish: async (committed, signal) => {
          try {
            if (committed && artifact.cluster) report.cluster = await adoptCluster(artifact, committed, access.clusterCacheDir, status, signal)
          } finally {
            await rm(dir, { recursive: true, force: true })
          }
        },
      }
    },
  }
}

async function adoptCluster(
  artifact: VerifiedArtifact,
  committed: SnapshotManifest,
  cacheDir: string | undefined,
  status: (text: string) => void,
  signal?: AbortSignal,
): Promise<RegistryPullReport['cluster']> {
  const info = artifact.config.cluster
  if (!cacheDir || !info) return 'skipped: no cluster cache here'
  if (info.arch !== process.arch || info.platform !== process.platform) return `skipped: made on ${info.platform}/${info.arch}, this is ${process.platform}/${process.arch}`
  status(`unpacking the warm cluster (PostgreSQL ${info.pgVersion})`)
  const incoming = await makeIncomingDir(cacheDir)
  try {
    await extractCluster(artifact, incoming, signal)
    const key = clusterCacheKey({ snapshotSha256: committed.sha256, pgVersion: info.pgVersion, migrationsDigest: info.migrationsDigest })
    await importClusterEntry(cacheDir, incoming, key)
    return 'installed'
  } catch (err) {
    // The snapshot is committed and good; without the cluster the first start imports it (cold).
    await rm(incoming, { recursive: true, force: true })
    return `skipped: ${describeError(err).message}`
  }
}
