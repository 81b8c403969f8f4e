// Every child process of the runner goes through this module: one result shape (ProcessResult), one
// error (ProcessError, carrying the cause and the fix), cancellation from an AbortSignal that stops the
// whole process tree, secrets only in the environment, and --verbose printing each command, redacted.
export { run, type RunOptions } from './run.ts'
export { spawnProcess, type ManagedProcess, type SpawnOptions } from './spawn.ts'
export { processAlive, stopTree, treeOf } from './tree.ts'
export { displayCommand, isVerbose, redact, registerSecrets, setVerbose, zxVerboseLog } from './display.ts'
export { ProcessError, SecretOnCommandLineError, describeFailure, tail } from './errors.ts'
export type { CommandOptions, ProcessIdentity, ProcessResult } from './types.ts'
