// `snapshots push NAME REF`: the snapshot (and, when this data home has it, its warm cluster) as an OCI
// artifact, built in a layout directory under the data home and copied to the registry by skopeo.
// Unchanged chunks are the same blobs as last time, and skopeo does not upload a blob the registry has.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { clusterCacheKey, verifyClusterEntry } from '../postgres/cluster-cache.ts'
import type { SnapshotStore } from '../snapshots/store.ts'
import { assertMayLeave, type EgressVerdict } from '../anonymize/egress.ts'
import { writeLayout, type ClusterInfo } from './layout.ts'
import { parseReference } from './reference.ts'
import { skopeoCopy, type RegistryAccess } from './skopeo.ts'

export interface PushOptions {
  store: SnapshotStore
  name: string
  ref: string
  access: RegistryAccess
  /** Push a snapshot that may not leave the machine (everyone with pull access then sees personal data). */
  allowPersonalData?: boolean
  /** Carry the warm cluster of this PostgreSQL version and migrations state when the cache holds it. */
  cluster?: { cacheDir: string; pgVersion: string; migrationsDigest: string }
  signal?: AbortSignal
  onStatus?: (text: string) => void
  skopeoPath?: string
}

export interface PushResult {
  ref: string
  manifestDigest: string
  chunks: number
  sqlBytes: number
  /** Blobs of the artifact (config, chunks, cluster) and their bytes. */
  blobs: number
  bytes: number
  /** What skopeo actually sent; the rest the registry already held. */
  uploadedBlobs: number
  uploadedBytes: number
  cluster?: { pgVersion: string; arch: string; bytes: number }
  /** Why the snapshot may leave; `warning` set when --allow-personal-data overrode a refusal. */
  verdict: EgressVerdict
}

export const LAYOUT_TAG = 'snapshot'

export async function pushSnapshot(opts: PushOptions): Promise<PushResult> {
  const ref = parseReference(opts.ref)
  const status = opts.onStatus ?? (() => {})
  const snapshot = await opts.store.verify(opts.name)
  // The same check as `snapshots export`: not anonymized, or personal-looking columns without a rule, is refused.
  const verdict = assertMayLeave(snapshot, { force: opts.allowPersonalData, forceFlag: '--allow-personal-data', action: 'push' })
  const cluster = opts.cluster ? await findCluster(opts.cluster, snapshot.sha256) : undefined
  const work = join(opts.store.home, 'registry')
  await mkdir(work, { recursive: true, mode: 0o700 })
  const dir = await mkdtemp(join(work, 'push-'))
  try {
    const opened = await opts.store.openForImport(opts.name)
    let written
    try {
      written = await writeLayout(dir, LAYOUT_TAG, {
        snapshot,
        sql: opened.stream,
        cluster,
        signal: opts.signal,
        onChunk: (p) => status(`packing: ${p.chunks} chunks, ${mib(p.sqlBytes)} of ${mib(snapshot.uncompressedBytes)} MiB of SQL`),
      })
    } finally {
      await opened.close()
    }
    const sizes = new Map(written.blobs.map((b) => [b.digest, b.size]))
    const total = written.blobs.length
    const totalBytes = [...sizes.values()].reduce((a, b) => a + b, 0)
    let seen = 0
    let read = 0
    const present = new PresentBlobs()
    const report = () => {
      // What the registry already holds counts as done: it is never read, let alone sent.
      const held = [...present.digests].reduce((a, d) => a + (sizes.get(d) ?? 0), 0)
      status(`uploading to ${ref.host}: ${mib(Math.min(totalBytes, held + read))} of ${mib(totalBytes)} MiB (blob ${seen} of ${total})`)
    }
    await skopeoCopy({
      direction: 'push',
      layoutDir: dir,
      layoutTag: LAYOUT_TAG,
      ref,
      access: opts.access,
      signal: opts.signal,
      skopeoPath: opts.skopeoPath,
      onLine: (line) => {
        if (!/^Copying (blob|config)/.test(line)) return
        seen++
        report()
      },
      onDebug: (msg) => present.see(msg),
      onBytes: (bytes) => {
        read = bytes
        report()
      },
    })
    const skipped = present.digests
    const uploaded = written.blobs.filter((b) => !skipped.has(b.digest))
    const clusterBlob = written.blobs.find((b) => b.mediaType.startsWith('application/vnd.rotv.cluster'))
    return {
      ref: ref.text,
      manifestDigest: written.manifestDigest,
      chunks: written.blobs.filter((b) => b.mediaType.includes('sql-chunk')).length,
      sqlBytes: written.config.sql.bytes,
      blobs: total,
      bytes: totalBytes,
      uploadedBlobs: uploaded.length,
      uploadedBytes: uploaded.reduce((a, b) => a + b.size, 0),
      ...(cluster && clusterBlob ? { cluster: { pgVersion: cluster.info.pgVersion, arch: cluster.info.arch, bytes: clusterBlob.size } } : {}),
      verdict,
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Which blobs the registry already held, from skopeo's debug messages (its plain output says "Copying
 * blob" either way): "Checking /v2/REPO/blobs/sha256:..." answered by "... already exists", or "Skipping
 * blob sha256:... (already present)".
 */
export class PresentBlobs {
  readonly digests = new Set<string>()
  private checking: string | undefined
  see(msg: string): void {
    const skip = /^Skipping blob (sha256:[0-9a-f]{64})/.exec(msg)
    if (skip) this.digests.add(skip[1]!)
    const check = /^Checking \/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})/.exec(msg)
    if (check) this.checking = check[1]
    else if (msg.startsWith('... already exists') && this.checking) this.digests.add(this.checking)
    else if (/^(HEAD|GET|POST|PUT|PATCH) /.test(msg) || msg.startsWith('... ')) return
    else if (!skip) this.checking = undefined
  }
}

async function findCluster(c: NonNullable<PushOptions['cluster']>, snapshotSha256: string): Promise<{ dir: string; info: ClusterInfo } | undefined> {
  // The app's migrated cluster first; else the one `start --db-only` made (no migrations applied).
  for (const migrationsDigest of [c.migrationsDigest, 'no-migrations']) {
    const key = clusterCacheKey({ snapshotSha256, pgVersion: c.pgVersion, migrationsDigest })
    if (!(await verifyClusterEntry(c.cacheDir, key)).ok) continue
    return { dir: join(c.cacheDir, key), info: { pgVersion: c.pgVersion, arch: process.arch, platform: process.platform, migrationsDigest } }
  }
  return undefined
}

function mib(bytes: number): string {
  return String(Math.round(bytes / 2 ** 20))
}
