// The PostgreSQL engine under the start/stop/reset tasks: binaries, data directories, server lifecycle,
// databases and the warm cluster cache. Tasks import from here.
export { resolveBinaries, parseVersion, type PgBinaries, type PgVersion, type ResolveBinariesOptions } from './binaries.ts'
export { resolveServerUser, isRoot, type ServerUser } from './run-as.ts'
export { findMemoryFilesystem, createDevDataDir, checkFits, parseSize, formatBytes, DEFAULT_TMPFS_LIMIT_BYTES, type MemoryFilesystem, type DevDataDir, type CheckFitsOptions } from './memory-dir.ts'
export { initCluster, existingCluster, DEV_SETTINGS, PERSISTENT_SETTINGS, PG_HBA, type ClusterMode, type InitClusterOptions, type InitClusterResult } from './cluster.ts'
export { startServer, stopServer, assertPortFree, freeLoopbackPort, serverConnection, startFailure, type RunningServer, type StartServerOptions, type StopServerOptions, type StopMode } from './server.ts'
export { serverStatus, clusterState, type ServerStatus, type ClusterState } from './status.ts'
export { createDatabases, cloneDatabaseFromTemplate, makeSpare, resetFromSpare, spareName, forbidConnections, databaseOids, ident, type CloneOptions, type SpareOptions, type SpareFacts } from './databases.ts'
export {
  clusterCacheKey, saveCluster, stageCluster, saveStagedCluster, restoreCluster, verifyClusterEntry, pruneClusters, listClusters, StableDirChangedError,
  type ClusterCacheKeyInput, type SaveClusterOptions, type StageClusterOptions, type StagedCluster, type RestoreClusterOptions, type RestoreClusterResult, type CacheEntryInfo, type PruneClustersOptions,
} from './cluster-cache.ts'
export * from './errors.ts'
export { CancelledError } from '../errors.ts'
