// Where things are inside the rotv image. One table, shared by the supervisor (inside) and the runtime
// that starts the container (outside), so a mount and its reader can never disagree.
export const CONTAINER_PATHS = {
  /** tmpfs (dev) or the DATA_DIR bind mount (persistent). */
  pgdataMount: '/data/pgdata',
  /** The snapshot's stored file, mounted read-only (zstd plain SQL, as the store keeps it; found by its magic bytes, so the .br name still serves snapshots stored as brotli). */
  snapshotFile: '/data/snapshot/dump.sql.br',
  /** The data home's container-clusters/ (warm cache of imported clusters), dev mode. */
  clusterCache: '/data/clusters',
  /** dotenv file with the app's secrets, mounted read-only. */
  secretsFile: '/run/secrets/rotv.env',
  logDir: '/var/log/rotv',
  postgresLog: '/var/log/rotv/postgres.log',
  /** The spare copy for reset: one line per copy made (or why not). */
  spareLog: '/var/log/rotv/spare.log',
  runDir: '/run/rotv',
  /** Written by the supervisor once the database is prepared; read by `reset` through exec. */
  runState: '/run/rotv/state.json',
} as const

/** The port the app listens on inside the container (published on the host's APP_PORT). */
export const CONTAINER_APP_PORT = 8080
/**
 * The supervisor's forwarder to PostgreSQL inside the container (published on the host's 127.0.0.1:PG_PORT).
 * PostgreSQL itself keeps listening on the container's loopback only, with the same trust rules as the
 * host runtime's cluster; the publish reaches the container's own interface, hence the forwarder.
 */
export const CONTAINER_PG_FORWARD_PORT = 5433

export interface ContainerRunState {
  mode: 'dev' | 'persistent'
  dbName: string
  /** Set once the pristine template is in place (a warm start copies it while the app boots). */
  pristineDb?: string
  /** Dev mode: the pristine template is still being copied (reset waits), or why it could not be. */
  pristinePending?: boolean
  pristineError?: string
  pgPort: number
  prepared: 'imported' | 'warm' | 'kept'
  pgVersion: string
  /** The cluster's directory and the tmpfs limit, for the spare copy for reset (dev mode). */
  pgdata?: string
  limitBytes?: number
}
