// The one place the CLI's configuration becomes the engines' plain option objects. Tasks call these;
// the engines never see the Config type, so they stay usable (and testable) without the CLI.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { RotvError } from '../errors.ts'
import type { Config, SourceConfig } from '../config/load.ts'
import type { SnapshotStore } from '../snapshots/index.ts'
import type { SourceSpec } from '../sources/types.ts'
import type { SnapshotHandle } from './database.ts'
import type { HostSettings } from './host.ts'
import { appLaunch, extraDatabases, migrationStep } from '../project/launch.ts'

export class UnknownSourceError extends RotvError {}

/**
 * What the app reads from its environment besides its database and port: the variables its project file
 * declares, secrets included (both runtimes keep them off command lines).
 */
export function appSecretsEnv(config: Config): Record<string, string> {
  return { ...config.appVariables }
}

export function hostSettings(config: Config): HostSettings {
  const appEnv = appSecretsEnv(config)
  return {
    home: config.dataHome,
    app: appLaunch(config.root, config.project),
    migrations: migrationStep(config.root, config.project, appEnv),
    pgPort: config.pgPort,
    appPort: config.appPort,
    dbName: config.dbName,
    extraDatabases: extraDatabases(config.project, config.dbName),
    pgBinDir: config.pgBinDir,
    runAs: config.pgRunAs,
    persistentDir: config.persistentData ? config.dataDir : undefined,
    tmpfsLimitBytes: config.tmpfsSizeBytes,
    appEnv,
  }
}

/** The source named `name` (an environment or `demo`), as the snapshot engine takes it. */
export function sourceSpec(config: Config, name?: string): SourceSpec {
  const wanted = (name ?? config.seed.defaultSource).toLowerCase()
  const source: SourceConfig | undefined = config.seed.sources[wanted]
  if (!source) {
    const known = Object.keys(config.seed.sources)
    throw new UnknownSourceError(`no source named "${wanted}" is configured (configured: ${known.join(', ')})`, {
      fix: `add ${wanted} to SEED_ENVIRONMENTS and set ${wanted.toUpperCase()}_HOST (or ${wanted.toUpperCase()}_DATABASE_URL) in .env`,
    })
  }
  return {
    name: source.name,
    kind: source.kind,
    host: source.host,
    port: source.port,
    user: source.user,
    container: source.container,
    engine: source.engine,
    database: source.database,
    dbUser: source.dbUser,
    url: source.url,
    file: source.file,
    ...(source.kind === 'registry' ? { ref: source.registry, registry: registryAccess(config) } : {}),
  }
}

/** How this data home reaches the registry, and where a pull keeps its temp files and warm clusters. */
export function registryAccess(config: Config, overrides: { tlsVerify?: boolean } = {}): NonNullable<SourceSpec['registry']> {
  return {
    authFile: config.registry.authFile,
    tlsVerify: overrides.tlsVerify ?? config.registry.tlsVerify,
    caFile: config.registry.caFile,
    workDir: join(config.dataHome, 'registry'),
    clusterCacheDir: join(config.dataHome, 'clusters'),
  }
}

/** The snapshot `start` uses: named explicitly, else SNAPSHOT, else the default source's name. */
export function snapshotName(config: Config, explicit?: string): string {
  if (explicit) return explicit
  // The original setup's cache file (~/.rotv/seed-data.sql) is production data: prefer it to demo data.
  if (config.snapshot === 'demo' && existsSync(join(config.dataHome, 'seed-data.sql'))) return 'production'
  return config.snapshot
}

/** A verified snapshot from the store, in the form the runtime imports. */
export async function snapshotHandle(store: SnapshotStore, name: string): Promise<SnapshotHandle> {
  const manifest = await store.verify(name)
  return {
    name,
    sha256: manifest.sha256,
    sqlBytes: manifest.uncompressedBytes,
    serverVersion: manifest.serverVersion,
    pgDumpVersion: manifest.pgDumpVersion,
    open: async () => (await store.openForImport(name)).stream,
  }
}
