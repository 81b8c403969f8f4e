// A snapshot as an OCI artifact, in an OCI layout directory (what skopeo copies to and from a registry):
//   config   application/vnd.rotv.snapshot.config.v1+json   the snapshot's manifest, the plain SQL's sha256
//   layers   application/vnd.rotv.snapshot.sql-chunk.v1.brotli   the plain SQL in content-defined chunks,
//            each compressed on its own (so an unchanged chunk is the same blob on every push)
//            application/vnd.rotv.cluster.v1.tar+gzip   optional: the warm cluster, for one PostgreSQL
//            version, CPU architecture and migrations state
// Reading verifies every blob against its digest and size before anything is used.
import { createHash, randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import { decodeBuffer } from '../snapshots/compression.ts'
import type { SnapshotManifest } from '../snapshots/manifest.ts'
import { chunkStream } from './chunker.ts'
import { ArtifactDigestError, NotASnapshotArtifactError } from './errors.ts'

export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.rotv.snapshot.config.v1+json',
  chunk: 'application/vnd.rotv.snapshot.sql-chunk.v1.brotli',
  cluster: 'application/vnd.rotv.cluster.v1.tar+gzip',
} as const

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
}

export interface ClusterInfo {
  /** PostgreSQL version the cluster was made by (PgBinaries.version.full). */
  pgVersion: string
  /** process.arch and process.platform of the machine that made it. */
  arch: string
  platform: string
  /** The migrations the cluster has applied (lib/migrations migrationsDigest). */
  migrationsDigest: string
}

/** The artifact's config blob. */
export interface ArtifactConfig {
  format: 1
  snapshot: Omit<SnapshotManifest, 'dataFile' | 'sha256' | 'compressedBytes' | 'compression'>
  sql: { sha256: string; bytes: number }
  cluster?: ClusterInfo
}

export interface LayoutWriteInput {
  snapshot: SnapshotManifest
  /** The plain SQL (verified by the store as it is read). */
  sql: Readable
  /** A warm cluster cache entry directory to carry along. */
  cluster?: { dir: string; info: ClusterInfo }
  signal?: AbortSignal
  onChunk?: (done: { chunks: number; sqlBytes: number }) => void
}

export interface WrittenLayout {
  manifestDigest: string
  config: ArtifactConfig
  blobs: Descriptor[]
}

const brotli = promisify(zlib.brotliCompress)
/** Chunks compressed at once: zlib runs them on libuv's pool, so two keep both cores busy. */
const PARALLEL = 2

export async function writeLayout(dir: string, tag: string, input: LayoutWriteInput): Promise<WrittenLayout> {
  const blobDir = join(dir, 'blobs', 'sha256')
  await mkdir(blobDir, { recursive: true })
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n')
  const sqlHash = createHash('sha256')
  let sqlBytes = 0
  const layers: Descriptor[] = []
  const pending: Promise<Descriptor>[] = []
  const flush = async (limit: number) => {
    while (pending.length > limit) layers.push(await pending.shift()!)
  }
  for await (const chunk of chunkStream(input.sql)) {
    if (input.signal?.aborted) throw input.signal.reason
    sqlHash.update(chunk)
    sqlBytes += chunk.length
    pending.push(
      compressChunk(chunk).then(async (blob) => {
        const d = await putBlob(blobDir, blob)
        return { mediaType: MEDIA_TYPES.chunk, ...d, annotations: { 'org.rotv.sql.bytes': String(chunk.length) } }
      }),
    )
    await flush(PARALLEL - 1)
    input.onChunk?.({ chunks: layers.length + pending.length, sqlBytes })
  }
  await flush(0)
  // The store's at-rest facts (file name, compressed sha256 and size) belong to the pushing machine.
  const { dataFile: _d, sha256: _s, compressedBytes: _c, compression: _z, ...snapshot } = input.snapshot
  const config: ArtifactConfig = { format: 1, snapshot, sql: { sha256: sqlHash.digest('hex'), bytes: sqlBytes } }
  if (input.cluster) {
    config.cluster = input.cluster.info
    const d = await putClusterBlob(blobDir, input.cluster.dir, input.signal)
    layers.push({
      mediaType: MEDIA_TYPES.cluster,
      ...d,
      annotations: { 'org.rotv.cluster.pg-version': input.cluster.info.pgVersion, 'org.rotv.cluster.arch': input.cluster.info.arch },
    })
  }
  const configDesc = { mediaType: MEDIA_TYPES.config, ...(await putBlob(blobDir, Buffer.from(JSON.stringify(config)))) }
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: configDesc,
    layers,
    annotations: {
      'org.opencontainers.image.created': new Date().toISOString(),
      'org.opencontainers.image.title': `rotv snapshot ${input.snapshot.name}`,
      'org.rotv.snapshot.name': input.snapshot.name,
      'org.rotv.snapshot.anonymized': String(input.snapshot.anonymized),
    },
  }
  const manifestBytes = Buffer.from(JSON.stringify(manifest))
  const manifestDesc = await putBlob(blobDir, manifestBytes)
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: MEDIA_TYPES.manifest, ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }
  await writeFile(join(dir, 'index.json'), JSON.stringify(index))
  return { manifestDigest: manifestDesc.digest, config, blobs: [configDesc, ...layers] }
}

export interface VerifiedArtifact {
  dir: string
  config: ArtifactConfig
  chunks: Descriptor[]
  cluster?: Descriptor
  /** Bytes of every blob (config, chunks, cluster). */
  bytes: number
}

/** Reads the layout skopeo wrote and checks every blob (manifest, config, layers) against its digest. */
export async function readLayout(dir: string, tag: string, refText: string): Promise<VerifiedArtifact> {
  const notOurs = (why: string) => new NotASnapshotArtifactError(refText, why)
  let index: { manifests?: Descriptor[] }
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as typeof index
  } catch (err) {
    throw notOurs(`no readable index.json: ${(err as Error).message}`)
  }
  const entry = index.manifests?.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag) ?? index.manifests?.[0]
  if (!entry) throw notOurs('the layout holds no manifest')
  if (entry.mediaType !== MEDIA_TYPES.manifest) throw notOurs(`its manifest is a ${entry.mediaType}`)
  const manifest = JSON.parse((await readVerifiedBlob(dir, entry, refText)).toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] }
  if (manifest.config?.mediaType !== MEDIA_TYPES.config) throw notOurs(`its config is ${manifest.config?.mediaType ?? 'missing'}, not ${MEDIA_TYPES.config}`)
  const config = JSON.parse((await readVerifiedBlob(dir, manifest.config, refText)).toString('utf8')) as ArtifactConfig
  if (config.format !== 1) throw notOurs(`artifact format ${String(config.format)} is not known to this version; update rotv-dev`)
  const layers = manifest.layers ?? []
  const chunks = layers.filter((l) => l.mediaType === MEDIA_TYPES.chunk)
  const cluster = layers.find((l) => l.mediaType === MEDIA_TYPES.cluster)
  if (chunks.length === 0) throw notOurs('it has no SQL chunks')
  let bytes = manifest.config.size
  for (const l of layers) {
    await verifyBlobFile(dir, l, refText)
    bytes += l.size
  }
  return { dir, config, chunks, cluster, bytes }
}

/** The plain SQL, decompressed chunk by chunk; errors (ArtifactDigestError) when it is not the pushed SQL. */
export function sqlStream(artifact: VerifiedArtifact, refText: string): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256')
    let bytes = 0
    for (const chunk of artifact.chunks) {
      const plain = await decodeBuffer('brotli', await readFile(blobPath(artifact.dir, chunk.digest)))
      hash.update(plain)
      bytes += plain.length
      yield plain
    }
    const sha = hash.digest('hex')
    if (bytes !== artifact.config.sql.bytes || sha !== artifact.config.sql.sha256) {
      throw new ArtifactDigestError(refText, `the SQL is ${bytes} bytes with sha256 ${sha}, the artifact says ${artifact.config.sql.bytes} bytes, ${artifact.config.sql.sha256}`)
    }
  }
  return Readable.from(gen(), { objectMode: false })
}

/** Unpacks the cluster layer into `target` (an empty or new directory). */
export async function extractCluster(artifact: VerifiedArtifact, target: string, signal?: AbortSignal): Promise<void> {
  if (!artifact.cluster) throw new Error('extractCluster: the artifact carries no cluster')
  await mkdir(target, { recursive: true })
  // As root, tar would keep the pushing machine's uids; the restore gives the files to the server's user.
  const tar = spawn('tar', ['-x', '--no-same-owner', '-C', target, '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] })
  let stderr = ''
  tar.stderr.on('data', (d) => (stderr += String(d)))
  const exited = new Promise<number | null>((resolve) => tar.once('close', resolve))
  let piped: unknown
  try {
    await pipeline(createReadStream(blobPath(artifact.dir, artifact.cluster.digest)), zlib.createGunzip(), tar.stdin, { signal })
  } catch (err) {
    piped = err
  }
  const code = await exited
  // The stream's own failure (cancelled, unreadable) is the cause; tar then only saw a cut-off archive.
  if (piped) throw piped
  if (code !== 0) throw new Error(`unpacking the warm cluster failed: tar exited ${code}: ${stderr.trim()}`)
}

export function blobPath(dir: string, digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest)
  if (!m) throw new Error(`not a sha256 digest: ${digest}`)
  return join(dir, 'blobs', 'sha256', m[1]!)
}

async function compressChunk(chunk: Buffer): Promise<Buffer> {
  const c = zlib.constants
  return brotli(chunk, {
    params: {
      [c.BROTLI_PARAM_QUALITY]: 6,
      [c.BROTLI_PARAM_LGWIN]: 24,
      [c.BROTLI_PARAM_MODE]: c.BROTLI_MODE_TEXT,
      [c.BROTLI_PARAM_SIZE_HINT]: chunk.length,
    },
  })
}

async function putBlob(blobDir: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(data).digest('hex')
  const final = join(blobDir, hex)
  if (!(await stat(final).then(() => true, () => false))) {
    const tmp = `${final}.${randomBytes(4).toString('hex')}.tmp`
    await writeFile(tmp, data)
    await rename(tmp, final)
  }
  return { digest: `sha256:${hex}`, size: data.length }
}

async function putClusterBlob(blobDir: string, entryDir: string, signal?: AbortSignal): Promise<{ digest: string; size: number }> {
  const tmp = join(blobDir, `.cluster-${randomBytes(4).toString('hex')}.tmp`)
  const tar = spawn('tar', ['-c', '-C', entryDir, '.'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  tar.stderr.on('data', (d) => (stderr += String(d)))
  const exited = new Promise<number | null>((resolve) => tar.once('close', resolve))
  const hasher = new Hasher()
  try {
    await pipeline(tar.stdout, zlib.createGzip({ level: 1 }), hasher, createWriteStream(tmp), { signal })
    const code = await exited
    if (code !== 0) throw new Error(`packing the warm cluster failed: tar exited ${code}: ${stderr.trim()}`)
    const hex = hasher.hash.digest('hex')
    await rename(tmp, join(blobDir, hex))
    return { digest: `sha256:${hex}`, size: hasher.bytes }
  } finally {
    tar.kill()
    await rm(tmp, { force: true })
  }
}

async function readVerifiedBlob(dir: string, d: Descriptor, refText: string): Promise<Buffer> {
  let data: Buffer
  try {
    data = await readFile(blobPath(dir, d.digest))
  } catch (err) {
    throw new ArtifactDigestError(refText, `blob ${d.digest} is missing (${(err as Error).message})`)
  }
  const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`
  if (actual !== d.digest || data.length !== d.size) throw new ArtifactDigestError(refText, `blob ${d.digest} (${d.size} bytes) has digest ${actual} (${data.length} bytes)`)
  return data
}

async function verifyBlobFile(dir: string, d: Descriptor, refText: string): Promise<void> {
  const path = blobPath(dir, d.digest)
  const fh = await open(path, 'r').catch((err: Error) => {
    throw new ArtifactDigestError(refText, `blob ${d.digest} is missing (${err.message})`)
  })
  const hash = createHash('sha256')
  let size = 0
  try {
    const buf = Buffer.allocUnsafe(1 << 20)
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, size)
      if (bytesRead === 0) break
      hash.update(buf.subarray(0, bytesRead))
      size += bytesRead
    }
  } finally {
    await fh.close()
  }
  const actual = `sha256:${hash.digest('hex')}`
  if (actual !== d.digest || size !== d.size) throw new ArtifactDigestError(refText, `blob ${d.digest} (${d.size} bytes) has digest ${actual} (${size} bytes)`)
}

class Hasher extends Transform {
  readonly hash = createHash('sha256')
  bytes = 0
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk)
    this.bytes += chunk.length
    cb(null, chunk)
  }
}
