// Team sharing through a registry (Debian's docker-registry on 127.0.0.1, plain HTTP, started here):
// push of the stored snapshot, and a pull of it into a fresh data home, against the plain pull of the
// same dump from a file, measured in the same run. Each push goes to a new repository, so none of its
// blobs is already there (what a second, unchanged push skips is in the test, not here).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pushSnapshot, registrySource } from '../../lib/registry/index.ts'
import { openStore } from '../../lib/snapshots/index.ts'
import { startRegistry } from '../../test/helpers/registry.ts'
import type { Cleanup } from '../cleanup.ts'
import type { CaseResult, Sample } from '../types.ts'

export interface RegistryCaseOptions {
  storeHome: string
  snapshotName: string
  repeat: number
  cleanup: Cleanup
  log: (message: string) => void
}

export async function runRegistryCases(o: RegistryCaseOptions): Promise<CaseResult[]> {
  const push = { id: 'registry:push' as const, label: 'snapshots push to a registry (loopback)', note: 'skopeo copy of the OCI layout (content-defined chunks + config) to docker-registry on 127.0.0.1, plain HTTP; a new repository each time' }
  const pull = { id: 'registry:pull' as const, label: 'snapshots pull from a registry into a new data home', note: 'skopeo copy to a layout, every digest verified, then the store\'s pull (decompress, verify, brotli at rest, fsync, commit)' }
  try {
    const reg = await startRegistry({ tls: false })
    o.cleanup.add(`registry ${reg.host}`, () => reg.close())
    const access = { tlsVerify: false }
    const store = openStore(o.storeHome)
    const pushes: Sample[] = []
    for (let rep = 1; rep <= o.repeat; rep++) {
      const started = performance.now()
      await pushSnapshot({ store, name: o.snapshotName, ref: `${reg.host}/bench/rotv-${rep}:${o.snapshotName}`, access, allowPersonalData: true, signal: o.cleanup.signal })
      pushes.push({ ms: performance.now() - started })
      o.log(`registry push #${rep}: ${(pushes.at(-1)!.ms / 1000).toFixed(2)} s`)
    }
    const pulls: Sample[] = []
    for (let rep = 1; rep <= o.repeat; rep++) {
      const home = await mkdtemp(join(tmpdir(), 'rotv-bench-pull-'))
      try {
        const started = performance.now()
        await openStore(home).pull(registrySource({ name: 'production', kind: 'registry', ref: `${reg.host}/bench/rotv-1:${o.snapshotName}`, registry: { ...access, workDir: join(home, 'tmp') } }), { as: 'production', signal: o.cleanup.signal })
        pulls.push({ ms: performance.now() - started })
        o.log(`registry pull #${rep}: ${(pulls.at(-1)!.ms / 1000).toFixed(2)} s`)
      } finally {
        await rm(home, { recursive: true, force: true })
      }
    }
    return [{ ...push, status: 'ok', samples: pushes }, { ...pull, status: 'ok', samples: pulls }]
  } catch (err) {
    if (o.cleanup.wasInterrupted) throw err
    const reason = (err as Error).message.split('\n')[0]
    o.log(`registry failed: ${reason}`)
    return [{ ...push, status: 'failed', reason, samples: [] }, { ...pull, status: 'failed', reason, samples: [] }]
  }
}
