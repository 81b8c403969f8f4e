// Runs one WorkerJob in a child Node.js process (tsx as the loader, like the CLI) and returns its
// result. The benchmark's abort signal (Ctrl-C) is passed on as SIGINT; the promise settles only
// after the worker has exited, so its cleanup is finished before the benchmark's own runs.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { RESULT_PREFIX, type WorkerJob, type WorkerResult } from './worker-protocol.ts'

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url))
// `--import tsx` is resolved from the cwd: the repository root, where tsx is installed.
const REPO = fileURLToPath(new URL('..', import.meta.url))

export function runWorker(job: WorkerJob, signal: AbortSignal): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(job)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)))
    const onAbort = () => child.kill('SIGINT')
    signal.addEventListener('abort', onAbort, { once: true })
    child.once('error', reject)
    child.once('close', (code) => {
      signal.removeEventListener('abort', onAbort)
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX))
      if (code === 0 && line) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as WorkerResult)
      reject(new Error(`${job.kind} failed (worker exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`))
    })
  })
}
