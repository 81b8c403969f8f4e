// Anonymization's cost on a pull: the same demo dump pulled with and without rules in one run, on this
// machine (lib/anonymize/throughput.ts). Two rule sets: the shipped anonymize.config.ts (the reference
// app: users rewritten, sessions dropped, the bulky job_logs passed through) and a worst case that
// rewrites two columns of every job_logs row. Run alone: npx tsx bench/cases/anonymize.ts [SIZE_MB] [REPS]
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { loadAnonymizeRules, measureAnonymizeThroughput, normalizeRules, type ThroughputResult } from '../../lib/anonymize/index.ts'
import { hashPasswordWithSalt } from '../../lib/demo/password.ts'

export interface AnonymizeCaseResult {
  sizeBytes: number
  shipped: ThroughputResult
  everyRow: ThroughputResult
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export async function runAnonymizeCase(sizeBytes = 120 * 1024 * 1024, repetitions = 3): Promise<AnonymizeCaseResult> {
  const salt = randomBytes(24).toString('hex')
  const { rules, origin } = await loadAnonymizeRules(ROOT)
  const shipped = await measureAnonymizeThroughput({ size: sizeBytes, repetitions, settings: { rules, salt, rulesOrigin: origin } })
  const worst = normalizeRules({
    devPassword: 'dev-pass',
    passwordHash: hashPasswordWithSalt,
    tables: { job_logs: { columns: { message: 'hash', job_name: 'fake-name' } }, users: { columns: { email: 'hash-email' } }, session: 'truncate-table' },
  })
  const everyRow = await measureAnonymizeThroughput({ size: sizeBytes, repetitions, settings: { rules: worst, salt } })
  return { sizeBytes, shipped, everyRow }
}

export function formatAnonymizeCase(r: AnonymizeCaseResult): string {
  const s = (xs: number[]) => xs.map((ms) => (ms / 1000).toFixed(2)).join('/')
  const line = (label: string, x: ThroughputResult) =>
    `${label} (dump ${(x.dumpBytes / 1048576).toFixed(1)} MB, ${x.rowsRewritten} rows rewritten)\n` +
    `  wall: plain ${s(x.plainPullMs)} s, anonymized ${s(x.anonymizedPullMs)} s -> ${x.slowdownPercent.toFixed(1)}% (medians)\n` +
    `  cpu:  plain ${s(x.plainPullCpuMs)} s, anonymized ${s(x.anonymizedPullCpuMs)} s -> ${x.cpuSlowdownPercent.toFixed(1)}% (medians)\n` +
    `  transform alone: ${(x.transformOnlyMs / 1000).toFixed(2)} s (${x.transformMBps.toFixed(0)} MB/s)`
  return [line('shipped rules', r.shipped), line('worst case: two columns of every job_logs row', r.everyRow)].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mb = Number(process.argv[2] ?? 120)
  const reps = Number(process.argv[3] ?? 3)
  console.log(formatAnonymizeCase(await runAnonymizeCase(mb * 1024 * 1024, reps)))
}
