// What every snapshot source hands the store: a dump stream, what format it is in, where it came from,
// and a completion promise that says whether every process behind the stream succeeded. The store never
// trusts the stream alone: a dump is only kept when `done` resolves ok and the dump's trailer is present.
import type { Readable } from 'node:stream'
import type { RotvError } from '../errors.ts'
import type { AnonymizationRecord } from '../anonymize/stream.ts'
import type { SnapshotManifest } from '../snapshots/manifest.ts'

export type SourceKind = 'ssh+podman' | 'ssh' | 'url' | 'file' | 'demo' | 'registry'
export const SOURCE_KINDS: readonly SourceKind[] = ['ssh+podman', 'ssh', 'url', 'file', 'demo', 'registry']

/** Plain object the config layer builds per environment (PRODUCTION_*, STAGING_*, ...). */
export interface SourceSpec {
  /** Environment / snapshot name: production, staging, ... */
  name: string
  kind: SourceKind
  /** ssh kinds: host as ssh understands it (a ~/.ssh/config alias works). */
  host?: string
  /** ssh kinds: ssh port; unset leaves it to ssh_config. */
  port?: number
  /** ssh kinds: login user; unset leaves it to ssh_config. */
  user?: string
  /** ssh+podman: container running PostgreSQL. */
  container?: string
  /** ssh+podman: container engine on the remote host. Default podman. */
  engine?: 'podman' | 'docker'
  /** ssh kinds: database to dump. Default rotv. */
  database?: string
  /** ssh kinds: PostgreSQL role pg_dump connects as. Default rotv. */
  dbUser?: string
  /** ssh kinds: where pg_dump connects, seen from where it runs (default: the local socket there). */
  dbHost?: string
  dbPort?: number
  /** url: postgres://user:password@host:port/db; the password never reaches a command line. */
  url?: string
  /** file: a .sql, .sql.gz, .sql.zst or .sql.br dump. */
  file?: string
  /** ssh kinds: compress on the wire with a remote `gzip -1`. 'auto' (default) uses it when the remote
   * has bash and gzip (checked in the same remote command, no extra round trip); false uses ssh -C. */
  compressOnWire?: boolean | 'auto'
  /** ssh kinds: an ssh_config file (`ssh -F`); unset means the user's own ~/.ssh/config. */
  sshConfigFile?: string
  /** ssh kinds: seconds before giving up on the TCP connect. Default 15. */
  connectTimeoutSeconds?: number
  /** url: the pg_dump binary to run. Default `pg_dump` on PATH. */
  pgDumpPath?: string
  /** registry: the OCI reference (HOST[:PORT]/REPOSITORY[:TAG]) of the team's snapshot. */
  ref?: string
  /** registry: how to reach it (lib/registry RegistryAccess) and where this data home keeps temp files and warm clusters. */
  registry?: { authFile?: string; tlsVerify?: boolean; caFile?: string; workDir?: string; clusterCacheDir?: string }
  /** demo: generator knobs. */
  seed?: number
  size?: number
}

export type StreamFormat = 'plain' | 'gzip' | 'brotli' | 'zstd'

export interface SourceMetadata {
  kind: SourceKind
  /** Host the data came from (ssh host, url host, file path, "demo"). Never carries a password. */
  host: string
  database?: string
  /** Human description without secrets, for logs and errors. */
  description: string
}

export interface SourceCompletion {
  ok: boolean
  /** Exit code per process, e.g. { ssh: 0 } or { pg_dump: 1 }; null when killed by a signal. */
  exitCodes: Record<string, number | null>
  signals: Record<string, string | null>
  /** stderr of the local process, which for ssh includes the remote side's stderr. */
  stderr: string
  /** The typed reason when ok is false. */
  error?: RotvError
}

export interface DumpStream {
  /** The dump bytes, in `format`. */
  stream: Readable
  format: StreamFormat
  meta: SourceMetadata
  /** Settles after the producing processes exited; never rejects. */
  done: Promise<SourceCompletion>
  /** What a source that hands over a stored snapshot (a registry artifact) knows about it: whether and how
   * it was anonymized, and when it was pulled from production (its age). */
  carried?: { anonymized: boolean; synthetic?: boolean; anonymization?: AnonymizationRecord; pulledAt: Date }
  /** Called once the store is done with the stream: with the committed manifest, or undefined on failure. */
  finish?(committed: SnapshotManifest | undefined, signal?: AbortSignal): Promise<void>
}

export interface OpenOptions {
  signal?: AbortSignal
}

export interface SnapshotSource {
  readonly spec: SourceSpec
  describe(): string
  open(opts?: OpenOptions): Promise<DumpStream>
}
