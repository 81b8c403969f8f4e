// The production-shaped dump every case works from: the demo generator's plain SQL (pg_dump 17 form,
// the app's schema, job_logs filling the requested size), written once per run to a file.
import { createWriteStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { generateDemoDump } from '../lib/demo/generate.ts'

export interface GeneratedDump {
  path: string
  bytes: number
  generateMs: number
}

export async function writeDemoDump(path: string, opts: { size: number; seed: number; loadInto?: number; signal?: AbortSignal }): Promise<GeneratedDump> {
  const started = performance.now()
  await pipeline(generateDemoDump({ size: opts.size, seed: opts.seed, loadInto: opts.loadInto }), createWriteStream(path, { mode: 0o644 }), { signal: opts.signal })
  return { path, bytes: (await stat(path)).size, generateMs: performance.now() - started }
}
