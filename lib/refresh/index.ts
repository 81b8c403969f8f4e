// Incremental refresh: the public surface.
export { incrementalSource, type RefreshOptions, type RefreshStats } from './refresh.ts'
export { REFRESHABLE_KINDS, endpointFor } from './endpoints.ts'
export { DEFAULT_TUNING, type DiffTuning } from './diff.ts'
export { RefreshNotPossibleError, RefreshSessionError } from './errors.ts'
export { PSQL_SESSION_FLAGS, type SessionCommand } from './session.ts'
export { pullSnapshot, type SeedPullOptions, type SeedPullResult } from './pull.ts'
export { withPreviousCopy, type LocalSettings } from './previous-copy.ts'
