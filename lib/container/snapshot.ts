// The snapshot as the container gets it: the store's own verified file, mounted read-only. The
// supervisor decompresses and imports it with the shared loader; nothing is copied on the host.
import { join } from 'node:path'
import type { SnapshotStore } from '../snapshots/index.ts'
import type { ContainerSnapshot } from '../runtime/container.ts'

export async function containerSnapshot(store: SnapshotStore, name: string): Promise<ContainerSnapshot> {
  const manifest = await store.verify(name)
  return {
    name,
    sha256: manifest.sha256,
    file: join(store.pathOf(name), manifest.dataFile),
    sqlBytes: manifest.uncompressedBytes,
    serverVersion: manifest.serverVersion,
    pgDumpVersion: manifest.pgDumpVersion,
  }
}
