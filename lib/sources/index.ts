// Source specs in, snapshot sources out: the one place that knows which kind is implemented where.
import { demoSource } from './demo.ts'
import { fileSource } from './file.ts'
import { sshSource } from './ssh.ts'
import { urlSource } from './url.ts'
import { registrySource } from '../registry/source.ts'
import { SOURCE_KINDS, type SnapshotSource, type SourceSpec } from './types.ts'
import { RotvError } from '../errors.ts'

export type * from './types.ts'
export { SOURCE_KINDS } from './types.ts'
export * from './errors.ts'
export { ArchiveFormatDumpError, ArchiveRestoreError, DumpFileNotFoundError, fileSource, findPgRestore } from './file.ts'
export { remoteCommand, dumpArgv } from './ssh.ts'
export { parseDatabaseUrl } from './url.ts'

export function createSource(spec: SourceSpec): SnapshotSource {
  switch (spec.kind) {
    case 'ssh+podman':
    case 'ssh':
      return sshSource(spec)
    case 'url':
      return urlSource(spec)
    case 'file':
      return fileSource(spec)
    case 'demo':
      return demoSource(spec)
    case 'registry':
      return registrySource(spec)
    default:
      throw new RotvError(`unknown source kind "${String((spec as { kind: unknown }).kind)}" for "${spec.name}"`, {
        fix: `use one of: ${SOURCE_KINDS.join(', ')}`,
      })
  }
}

export function isSnapshotSource(x: SnapshotSource | SourceSpec): x is SnapshotSource {
  return typeof (x as SnapshotSource).open === 'function'
}
