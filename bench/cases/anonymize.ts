// Anonymization's cost on a pull: the same demo dump pulled with and without rules in one run, on this
// machine (lib/anonymize/throughput.ts). Two rule sets: the shipped anonymize.config.ts (the reference
// app: users rewritten, sessions dropped, the bulky job_logs passed through) and a worst case that
// rewrites two columns of every job_logs row. Run alone: npx tsx bench/cases/anonymize.ts [SIZE_MB] [REPS]
// (file source), or ... [SIZE_MB] [REPS] url (pg_dump against a PostgreSQL 15 loaded with the demo data).
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

/** `npm run bench`'s anonymize rows: the benchmark's dump pulled plain and with the shipped rules,
 * alternating, `repetitions` of each (no worst-case rules, no transform-only pass). */
export async function runAnonymizePulls(dumpPath: string, repetitions: number, signal?: AbortSignal): Promise<ThroughputResult> {
  const { rules, origin } = await loadAnonymizeRules(ROOT)
  return measureAnonymizeThroughput({ dumpPath, repetitions, transformAlone: false, signal, settings: { rules, salt: randomBytes(24).toString('hex'), rulesOrigin: origin } })
}

/**
 * The same through a real pull: pg_dump (url source) against Debian's PostgreSQL 15 holding the demo
 * data of `sizeBytes`, shipped rules. pg_dump runs in a child process, so the CPU figures cover only the
 * runner's side (decode, anonymize, inspect, compress, write).
 */
export async function runAnonymizeUrlCase(sizeBytes = 120 * 1024 * 1024, repetitions = 3): Promise<ThroughputResult> {
  const { startProductionPostgres } = await import('../../test/helpers/production-postgres.ts')
  const { loadDemoDump } = await import('../../test/helpers/app-server.ts')
  const pg = await startProductionPostgres({ databases: ['rotv'] })
  try {
    await loadDemoDump(pg, 'rotv', { size: sizeBytes, loadInto: 15 })
    const { rules, origin } = await loadAnonymizeRules(ROOT)
    return await measureAnonymizeThroughput({
      source: { name: 'bench', kind: 'url', url: pg.url('rotv') },
      repetitions,
      settings: { rules, salt: randomBytes(24).toString('hex'), rulesOrigin: origin },
    })
  } finally {
    await pg.stop()
  }
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

export function formatThroughput(label: string, x: ThroughputResult): string {
  return formatAnonymizeCase({ sizeBytes: x.dumpBytes, shipped: x, everyRow: x }).split('\n').slice(0, 4).join('\n').replace('shipped rules', label)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mb = Number(process.argv[2] ?? 120)
  const reps = Number(process.argv[3] ?? 3)
  if (process.argv[4] === 'url') console.log(formatThroughput('url source (pg_dump, PostgreSQL 15), shipped rules', await runAnonymizeUrlCase(mb * 1024 * 1024, reps)))
  else console.log(formatAnonymizeCase(await runAnonymizeCase(mb * 1024 * 1024, reps)))
}
