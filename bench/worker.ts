// One timed operation in a fresh Node.js process, as the CLI runs it: the process's own peak RSS
// (getrusage maxRSS) is then the exact figure for that operation alone, not a high-water mark left by
// an earlier case. Started by worker-client.ts; prints one JSON line (prefixed) with the result.
// SIGINT/SIGTERM abort the operation through its AbortSignal, so the engine's own cleanup runs
// (a half-started PostgreSQL is stopped) before the process exits.
import { resetHost, startHost } from '../lib/runtime/host.ts'
import { snapshotHandle } from '../lib/runtime/from-config.ts'
import { openStore } from '../lib/snapshots/index.ts'
import { PhaseClock } from './phases.ts'
import { RESULT_PREFIX, type WorkerJob, type WorkerResult } from './worker-protocol.ts'

const controller = new AbortController()
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => controller.abort(new Error(`interrupted (${sig})`)))

async function perform(job: WorkerJob): Promise<WorkerResult> {
  switch (job.kind) {
    case 'host-start': {
      const snapshot = await snapshotHandle(openStore(job.storeHome), job.snapshotName)
      const clock = new PhaseClock()
      try {
        const r = await startHost(job.settings, { snapshot, signal: controller.signal, onProgress: (m) => clock.message(m), healthTimeoutMs: 300_000 })
        clock.end()
        return { ms: clock.totalMs(), phases: clock.phases(), prepared: r.state.prepared, scratchDir: r.state.scratchDir, maxRssBytes: maxRss() }
      } finally {
        clock.end()
      }
    }
    case 'host-reset': {
      const started = performance.now()
      const r = await resetHost(job.home)
      return { ms: performance.now() - started, via: r.via, maxRssBytes: maxRss() }
    }
    case 'seed-pull': {
      const started = performance.now()
      const manifest = await openStore(job.home).pull(job.spec, { signal: controller.signal })
      return { ms: performance.now() - started, manifest, maxRssBytes: maxRss() }
    }
  }
}

function maxRss(): number {
  return process.resourceUsage().maxRSS * 1024 // kilobytes on Linux
}

perform(JSON.parse(process.argv[2]!) as WorkerJob).then(
  (result) => {
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
    process.exit(0)
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(controller.signal.aborted ? 130 : 1)
  },
)
