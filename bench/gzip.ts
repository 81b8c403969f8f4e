// The reference for the at-rest size: `gzip -6` (gzip's default level) of the same plain dump.
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'

export function gzipSize(path: string, level = 6, signal?: AbortSignal): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn('gzip', [`-${level}`, '-c'], { stdio: ['pipe', 'pipe', 'inherit'], signal })
    let bytes = 0
    child.stdout.on('data', (d: Buffer) => (bytes += d.length))
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve({ bytes, ms: performance.now() - started }) : reject(new Error(`gzip exited with ${code}`))))
    createReadStream(path).pipe(child.stdin)
  })
}
