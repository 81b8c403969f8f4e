// How much anonymization costs a pull: the same dump pulled (file source, same store code) with and
// without rules, alternating, on the same machine in the same run; plus the transform alone.
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { openStore } from '../snapshots/store.ts'
import { loadAnonymizeRules } from './load-rules.ts'
import { AnonymizeStream, type AnonymizeSettings } from './stream.ts'

export interface ThroughputOptions {
  /** A plain-SQL dump to measure on; default a generated demo dump of `size` bytes. */
  dumpPath?: string
  /** Demo dump size when no dumpPath (default 120 MB). */
  size?: number
  /** Pulls of each kind, alternating plain/anonymized (default 2). */
  repetitions?: number
  /** Default: the repository's anonymize.config.ts and a random salt for this run. */
  settings?: AnonymizeSettings
  /** Where temp files go (default the OS temp dir). */
  workDir?: string
}

export interface ThroughputResult {
  dumpBytes: number
  plainPullMs: number[]
  anonymizedPullMs: number[]
  /** Median anonymized / median plain - 1, in percent. */
  slowdownPercent: number
  /** The AnonymizeStream alone, file to nowhere. */
  transformOnlyMs: number
  transformMBps: number
  rowsRewritten: number
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

export async function measureAnonymizeThroughput(opts: ThroughputOptions = {}): Promise<ThroughputResult> {
  const work = await mkdtemp(join(opts.workDir ?? tmpdir(), 'rotv-anon-bench-'))
  try {
    let dumpPath = opts.dumpPath
    if (!dumpPath) {
      dumpPath = join(work, 'demo.sql')
      const { generateDemoDump } = await import('../demo/generate.ts')
      await pipeline(generateDemoDump({ size: opts.size ?? 120 * 1024 * 1024 }), createWriteStream(dumpPath))
    }
    const dumpBytes = (await stat(dumpPath)).size
    let normalized = opts.settings
    if (!normalized) {
      const { rules, origin } = await loadAnonymizeRules(REPO_ROOT)
      normalized = { rules, rulesOrigin: origin, salt: randomBytes(24).toString('hex') }
    }
    const store = openStore(join(work, 'home'))
    const spec = { name: 'bench', kind: 'file' as const, file: dumpPath }
    const plainPullMs: number[] = []
    const anonymizedPullMs: number[] = []
    let rowsRewritten = 0
    for (let i = 0; i < (opts.repetitions ?? 2); i++) {
      // Alternate which goes first so a warming cache or a load spike does not favour one side.
      const order = i % 2 === 0 ? [false, true] : [true, false]
      for (const anonymize of order) {
        const t0 = performance.now()
        const m = await store.pull(spec, { as: anonymize ? 'bench-anon' : 'bench-plain', anonymize: anonymize ? normalized : undefined })
        ;(anonymize ? anonymizedPullMs : plainPullMs).push(performance.now() - t0)
        if (anonymize) rowsRewritten = Object.values(m.anonymization?.tables ?? {}).reduce((n, t) => n + t.rows, 0)
      }
    }
    const t0 = performance.now()
    await pipeline(createReadStream(dumpPath, { highWaterMark: 1 << 20 }), new AnonymizeStream(normalized), new Writable({ write: (_c, _e, cb) => cb() }))
    const transformOnlyMs = performance.now() - t0
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!
    return {
      dumpBytes,
      plainPullMs,
      anonymizedPullMs,
      slowdownPercent: (med(anonymizedPullMs) / med(plainPullMs) - 1) * 100,
      transformOnlyMs,
      transformMBps: dumpBytes / 1048576 / (transformOnlyMs / 1000),
      rowsRewritten,
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
