// The container runtime's settings, from the CLI configuration plus three variables of its own
// (read from the environment; defaults suit one developer machine):
//   ROTV_IMAGE            image to run (default localhost/rotv:latest, what `build` tags)
//   ROTV_CONTAINER_NAME   container name (default rotv)
//   ROTV_PUBLISH_ADDRESS  host address the app port is published on (default 127.0.0.1: loopback only)
import { join } from 'node:path'
import type { Config } from '../config/load.ts'
import { DEFAULT_IMAGE } from './build.ts'

export interface ContainerSettings {
  /** Data home (~/.rotv): run state, the secrets file while starting, the warm cluster cache. */
  home: string
  image: string
  name: string
  appPort: number
  publishAddress: string
  dbName: string
  /** Set in persistent mode (PERSISTENT_DATA=true): DATA_DIR, bind-mounted as PGDATA. */
  persistentDir?: string
  tmpfsLimitBytes: number
  /** Warm clusters made inside the container (kept apart from the host runtime's: other owner, other PostgreSQL build). */
  clusterCacheDir: string
  /** The app's secrets: written to a 0600 file that the container reads, never passed as arguments. */
  appEnv: Record<string, string>
}

export function containerSettings(config: Config, env: NodeJS.ProcessEnv = process.env): ContainerSettings {
  const appEnv: Record<string, string> = {}
  if (config.session.secret) appEnv.SESSION_SECRET = config.session.secret
  if (config.oauth.google) {
    appEnv.GOOGLE_CLIENT_ID = config.oauth.google.clientId
    appEnv.GOOGLE_CLIENT_SECRET = config.oauth.google.clientSecret
  }
  if (config.adminEmail) appEnv.ADMIN_EMAIL = config.adminEmail
  return {
    home: config.dataHome,
    image: env.ROTV_IMAGE || DEFAULT_IMAGE,
    name: env.ROTV_CONTAINER_NAME || 'rotv',
    appPort: config.appPort,
    publishAddress: env.ROTV_PUBLISH_ADDRESS || '127.0.0.1',
    dbName: config.dbName,
    persistentDir: config.persistentData ? config.dataDir : undefined,
    tmpfsLimitBytes: config.tmpfsSizeBytes,
    clusterCacheDir: join(config.dataHome, 'container-clusters'),
    appEnv,
  }
}
