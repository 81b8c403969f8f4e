// The loader against `psql -f` on a small dump, where connection and worker set-up weigh most: both
// load the same plain dump into a fresh database of one running PostgreSQL 17 (the embedded one, as
// the runner uses), repetitions alternating so a machine that speeds up or slows down shifts both.
// The timer covers the load alone (psql: the process, start to exit; the loader: loadDump).
//   standalone: npx tsx bench/cases/loader.ts [SIZE=2MB] [REPEAT=7]
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { parseSize } from '../../lib/demo/generate.ts'
import { loadDump, openDumpFile } from '../../lib/loader/index.ts'
import { debianPostgresBinDir, startProductionPostgres } from '../../test/helpers/production-postgres.ts'
import { EMBEDDED_BIN } from '../../test/helpers/psql-reference.ts'
import type { Cleanup } from '../cleanup.ts'
import { writeDemoDump } from '../dump.ts'
import type { CaseResult, Sample } from '../types.ts'

const run = promisify(execFile)

export const LOADER_SMALL_SIZE = '2MB'

export interface LoaderCaseOptions {
  repeat: number
  cleanup: Cleanup
  log: (m: string) => void
  size?: string
  seed?: number
}

/** Two rows: psql -f and the loader on the same small dump; the loader's row carries the ratio. */
export async function runLoaderCases(opts: LoaderCaseOptions): Promise<CaseResult[]> {
  const size = opts.size ?? LOADER_SMALL_SIZE
  const work = await mkdtemp(join(tmpdir(), 'rotv-bench-loader-'))
  const undoWork = opts.cleanup.add(`loader bench dir ${work}`, () => rm(work, { recursive: true, force: true }))
  const server = await startProductionPostgres({ binDir: EMBEDDED_BIN })
  const undoServer = opts.cleanup.add('loader bench server', () => server.stop())
  try {
    const dump = await writeDemoDump(join(work, 'small.sql'), { size: parseSize(size), seed: opts.seed ?? 1, signal: opts.cleanup.signal })
    const admin = new pg.Client(server.url())
    await admin.connect()
    const psqlBin = join(debianPostgresBinDir(), 'psql')
    const psqlSamples: Sample[] = []
    const loaderSamples: Sample[] = []
    let n = 0
    try {
      // one untimed round each first: the server's caches and the loader's modules warm alike
      for (let rep = 0; rep <= Math.max(opts.repeat, 5); rep++) {
        const viaPsql = `psql_${++n}`
        const viaLoader = `loader_${n}`
        await admin.query(`CREATE DATABASE ${viaPsql}`)
        await admin.query(`CREATE DATABASE ${viaLoader}`)
        let t0 = performance.now()
        await run(psqlBin, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres', '-d', viaPsql, '-f', dump.path], { signal: opts.cleanup.signal })
        const psqlMs = performance.now() - t0
        t0 = performance.now()
        await loadDump({ connection: { connectionString: server.url(viaLoader) }, input: openDumpFile(dump.path), signal: opts.cleanup.signal })
        const loaderMs = performance.now() - t0
        await admin.query(`DROP DATABASE ${viaPsql}`)
        await admin.query(`DROP DATABASE ${viaLoader}`)
        if (rep === 0) continue
        psqlSamples.push({ ms: psqlMs })
        loaderSamples.push({ ms: loaderMs })
        opts.log(`loader small dump #${rep}: psql -f ${(psqlMs / 1000).toFixed(3)} s, loader ${(loaderMs / 1000).toFixed(3)} s`)
      }
    } finally {
      await admin.end()
    }
    const mb = (dump.bytes / 1024 / 1024).toFixed(1)
    const note = `a ${mb} MiB demo dump into a fresh database of one running PostgreSQL 17; alternating; 1 untimed round first`
    return [
      { id: 'loader:psql', label: `psql -f, small dump (${mb} MiB)`, status: 'ok', samples: psqlSamples, note },
      { id: 'loader:loader', label: `loader, small dump (${mb} MiB)`, status: 'ok', samples: loaderSamples, note: `${note}; the ratio is psql's median / the loader's` },
    ]
  } finally {
    await undoServer()
    await undoWork()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { Cleanup } = await import('../cleanup.ts')
  const { summarize } = await import('../report.ts')
  const cleanup = new Cleanup()
  const rows = (await runLoaderCases({ repeat: Number(process.argv[3] ?? 7), size: process.argv[2], cleanup, log: (m) => process.stderr.write(`${m}\n`) })).map(summarize)
  for (const r of rows) process.stdout.write(`${r.label}: median ${((r.medianMs ?? 0) / 1000).toFixed(3)} s, min ${((r.minMs ?? 0) / 1000).toFixed(3)} s\n`)
  process.stdout.write(`psql / loader: ${(rows[0]!.medianMs! / rows[1]!.medianMs!).toFixed(2)}x\n`)
  await cleanup.runAll()
}
