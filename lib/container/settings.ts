// The container runtime's settings, from the CLI configuration (ROTV_IMAGE, ROTV_CONTAINER_NAME and
// ROTV_PUBLISH_ADDRESS among the rest; defaults suit one developer machine).
import { join } from 'node:path'
import type { Config } from '../config/load.ts'
import { appSecretsEnv } from '../runtime/from-config.ts'
import { containerApp, type ContainerApp } from './app-spec.ts'
import { DEFAULT_IMAGE } from './build.ts'

export interface ContainerSettings {
  /** Data home (~/.rotv): run state, the secrets file while starting, the warm cluster cache. */
  home: string
  image: string
  name: string
  appPort: number
  /** PG_PORT: the container's PostgreSQL on the host's 127.0.0.1, as the host runtime's. */
  pgPort: number
  publishAddress: string
  dbName: string
  /** Set in persistent mode (PERSISTENT_DATA=true): DATA_DIR, bind-mounted as PGDATA. */
  persistentDir?: string
  tmpfsLimitBytes: number
  /** Warm clusters made inside the container (kept apart from the host runtime's: other owner, other PostgreSQL build). */
  clusterCacheDir: string
  /** The app's secrets: written to a 0600 file that the container reads, never passed as arguments. */
  appEnv: Record<string, string>
  /** The app as the supervisor runs it inside the image (passed as ROTV_APP; no secrets in it). */
  app?: ContainerApp
}

export function containerSettings(config: Config): ContainerSettings {
  const appEnv = appSecretsEnv(config)
  return {
    home: config.dataHome,
    image: config.container.image || DEFAULT_IMAGE,
    name: config.container.name,
    appPort: config.appPort,
    pgPort: config.pgPort,
    publishAddress: config.container.publishAddress,
    dbName: config.dbName,
    persistentDir: config.persistentData ? config.dataDir : undefined,
    tmpfsLimitBytes: config.tmpfsSizeBytes,
    clusterCacheDir: join(config.dataHome, 'container-clusters'),
    appEnv,
    app: containerApp(config.project, config.dbName),
  }
}
