// Case 5, `seed` from a production server over ssh: a PostgreSQL 15 "production" (Debian's server, the
// test helper) loaded with the same demo data, a loopback sshd, and the runner's `ssh` source, which
// runs pg_dump on the remote host (this machine) and streams it back into the snapshot store. Measured
// with the remote `gzip -1` on the wire and without it (ssh -C instead).
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { generateDemoDump } from '../../lib/demo/generate.ts'
import type { SnapshotManifest } from '../../lib/snapshots/index.ts'
import type { SourceSpec } from '../../lib/sources/types.ts'
import { startProductionPostgres, type TestPostgres } from '../../test/helpers/production-postgres.ts'
import { startSshd, type TestSshd } from '../../test/helpers/sshd.ts'
import type { Cleanup } from '../cleanup.ts'
import { firstLine } from '../machine.ts'
import { runWorker } from '../worker-client.ts'
import type { Sample } from '../types.ts'

export interface SeedFixture {
  production: TestPostgres
  sshd: TestSshd
  serverVersion: string
  pgDumpVersion: string
  loadMs: number
}

/** Production PostgreSQL 15 loaded with the demo data of this size and seed, and sshd; not timed as a case. */
export async function startSeedFixture(opts: { size: number; seed: number; cleanup: Cleanup }): Promise<SeedFixture> {
  const production = await startProductionPostgres({ databases: ['rotv'] })
  opts.cleanup.add('production PostgreSQL 15', () => production.stop())
  const started = performance.now()
  // loadInto 15: the generator leaves out pg_dump 17's `SET transaction_timeout`, which 15 rejects.
  await loadWithPsql(production, generateDemoDump({ size: opts.size, seed: opts.seed, loadInto: 15 }), opts.cleanup.signal)
  const loadMs = performance.now() - started
  const sshd = await startSshd()
  opts.cleanup.add('loopback sshd', () => sshd.stop())
  return {
    production,
    sshd,
    serverVersion: (await firstLine(join(production.binDir, 'postgres'), ['--version'])) ?? 'unknown',
    pgDumpVersion: (await firstLine('pg_dump', ['--version'])) ?? 'unknown',
    loadMs,
  }
}

export function sshSpec(f: SeedFixture, compressOnWire: boolean): SourceSpec {
  return {
    name: 'production',
    kind: 'ssh',
    host: f.sshd.host,
    port: f.sshd.port,
    user: f.sshd.user,
    sshConfigFile: f.sshd.configFile,
    database: 'rotv',
    dbUser: 'postgres',
    dbHost: f.production.host,
    dbPort: f.production.port,
    compressOnWire,
  }
}

/** One pull into a fresh store, in a worker process; the timer covers store.pull (ssh, pg_dump, transfer, brotli, verify, commit). */
export async function runSeedPull(f: SeedFixture, compressOnWire: boolean, cleanup: Cleanup): Promise<Sample & { manifest: SnapshotManifest }> {
  const home = await mkdtemp(join(tmpdir(), 'rotv-bench-seed-'))
  const undo = cleanup.add(`seed store ${home}`, () => rm(home, { recursive: true, force: true }))
  try {
    const r = await runWorker({ kind: 'seed-pull', home, spec: sshSpec(f, compressOnWire) }, cleanup.signal)
    return { ms: r.ms, peakRssBytes: r.maxRssBytes, manifest: r.manifest! }
  } finally {
    await undo()
  }
}

function loadWithPsql(production: TestPostgres, input: NodeJS.ReadableStream, signal: AbortSignal): Promise<void> {
  const child = spawn(join(production.binDir, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', production.host, '-p', String(production.port), '-U', 'postgres', '-d', 'rotv'], {
    stdio: ['pipe', 'ignore', 'pipe'],
    signal,
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)))
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`loading production with psql failed (${code}): ${stderr.trim()}`))))
  })
  return Promise.all([pipeline(input, child.stdin), exited]).then(() => undefined)
}
