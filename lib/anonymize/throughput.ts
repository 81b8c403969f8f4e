// How much anonymization costs a pull: the same dump pulled (file source, same store code) with and
// without rules, alternating, on the same machine in the same run; plus the transform alone.
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { openStore } from '../snapshots/store.ts'
import type { SourceSpec } from '../sources/types.ts'
import { loadAnonymizeRules } from './load-rules.ts'
import { AnonymizeStream, type AnonymizeSettings } from './stream.ts'

export interface ThroughputOptions {
  /** A plain-SQL dump to measure on; default a generated demo dump of `size` bytes. */
  dumpPath?: string
  /** Pull from this source instead of a dump file (e.g. a url source: pg_dump against a server). */
  source?: SourceSpec
  /** Demo dump size when no dumpPath (default 120 MB). */
  size?: number
  /** Pulls of each kind, alternating plain/anonymized (default 3). */
  repetitions?: number
  /** Default: the repository's anonymize.config.ts and a random salt for this run. */
  settings?: AnonymizeSettings
  /** Where temp files go (default the OS temp dir). */
  workDir?: string
  /** Also time the transform alone on the decompressed SQL (default true). */
  transformAlone?: boolean
  signal?: AbortSignal
}

export interface ThroughputResult {
  dumpBytes: number
  plainPullMs: number[]
  anonymizedPullMs: number[]
  /** CPU time (user + system, all threads of this process: the compressor runs on libuv's pool). */
  plainPullCpuMs: number[]
  anonymizedPullCpuMs: number[]
  /** Median anonymized / median plain - 1, in percent, wall clock. */
  slowdownPercent: number
  /** The same on CPU time, which load from other processes on a shared machine disturbs far less. */
  cpuSlowdownPercent: number
  /** The AnonymizeStream alone, file to nowhere (NaN when not measured). */
  transformOnlyMs: number
  transformMBps: number
  rowsRewritten: number
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export async function measureAnonymizeThroughput(opts: ThroughputOptions = {}): Promise<ThroughputResult> {
  const work = await mkdtemp(join(opts.workDir ?? tmpdir(), 'rotv-anon-bench-'))
  try {
    let dumpPath = opts.dumpPath
    if (!dumpPath && !opts.source) {
      dumpPath = join(work, 'demo.sql')
      const { generateDemoDump } = await import('../demo/generate.ts')
      await pipeline(generateDemoDump({ size: opts.size ?? 120 * 1024 * 1024 }), createWriteStream(dumpPath))
    }
    let dumpBytes = dumpPath ? (await stat(dumpPath)).size : 0
    let normalized = opts.settings
    if (!normalized) {
      const { rules, origin } = await loadAnonymizeRules(REPO_ROOT)
      normalized = { rules, rulesOrigin: origin, salt: randomBytes(24).toString('hex') }
    }
    const store = openStore(join(work, 'home'))
    const spec: SourceSpec = opts.source ?? { name: 'bench', kind: 'file', file: dumpPath }
    const plainPullMs: number[] = []
    const anonymizedPullMs: number[] = []
    const plainPullCpuMs: number[] = []
    const anonymizedPullCpuMs: number[] = []
    let rowsRewritten = 0
    for (let i = 0; i < (opts.repetitions ?? 3); i++) {
      // Alternate which goes first so a warming cache or a load spike does not favour one side.
      const order = i % 2 === 0 ? [false, true] : [true, false]
      for (const anonymize of order) {
        const t0 = performance.now()
        const cpu0 = process.cpuUsage()
        const m = await store.pull(spec, { as: anonymize ? 'bench-anon' : 'bench-plain', anonymize: anonymize ? normalized : undefined, signal: opts.signal })
        const cpu = process.cpuUsage(cpu0)
        ;(anonymize ? anonymizedPullMs : plainPullMs).push(performance.now() - t0)
        ;(anonymize ? anonymizedPullCpuMs : plainPullCpuMs).push((cpu.user + cpu.system) / 1000)
        if (anonymize) rowsRewritten = Object.values(m.anonymization?.tables ?? {}).reduce((n, t) => n + t.rows, 0)
        else dumpBytes = m.uncompressedBytes
      }
    }
    let transformOnlyMs = NaN
    if (opts.transformAlone !== false) {
      // The transform alone, on the plain snapshot's SQL (decompressed to memory first, so only it is timed).
      const plain = await store.openForImport('bench-plain')
      const chunks: Buffer[] = []
      for await (const c of plain.stream) chunks.push(c as Buffer)
      const t0 = performance.now()
      await pipeline(Readable.from(chunks), new AnonymizeStream(normalized), new Writable({ write: (_c, _e, cb) => cb() }))
      transformOnlyMs = performance.now() - t0
    }
    const med = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b)
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
    }
    return {
      dumpBytes,
      plainPullMs,
      anonymizedPullMs,
      plainPullCpuMs,
      anonymizedPullCpuMs,
      slowdownPercent: (med(anonymizedPullMs) / med(plainPullMs) - 1) * 100,
      cpuSlowdownPercent: (med(anonymizedPullCpuMs) / med(plainPullCpuMs) - 1) * 100,
      transformOnlyMs,
      transformMBps: dumpBytes / 1048576 / (transformOnlyMs / 1000),
      rowsRewritten,
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
