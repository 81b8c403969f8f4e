// Turning samples into the figures, the target checks, and the same table as text (terminal),
// Markdown (README, bench/results/*.md) and JSON (bench/results/*.json).
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { median, min } from './stats.ts'
import type { BenchReport, CaseResult, Sample, SizeFigures, TargetCheck } from './types.ts'

/** Fills min/median/peaks of a case from its samples. */
export function summarize(c: CaseResult): CaseResult {
  if (!c.samples.length) return c
  const ms = c.samples.map((s) => s.ms)
  const defined = (xs: Array<number | undefined>) => xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
  const rss = defined(c.samples.map((s) => s.peakRssBytes))
  const tmpfs = defined(c.samples.map((s) => s.tmpfsBytes))
  return { ...c, minMs: min(ms), medianMs: median(ms), peakRssBytes: rss.length ? Math.max(...rss) : undefined, tmpfsBytes: tmpfs.length ? Math.max(...tmpfs) : undefined }
}

/** Ratios against the baseline's median, for the cases that deliver the same thing (a loaded database). */
export function addRatios(cases: CaseResult[]): void {
  // the loader's small-dump row against psql -f in the same case (its own "original method")
  const psql = cases.find((c) => c.id === 'loader:psql' && c.status === 'ok')?.medianMs
  const loader = cases.find((c) => c.id === 'loader:loader' && c.status === 'ok')
  if (psql && loader?.medianMs) loader.speedupVsBaseline = psql / loader.medianMs
  // a team's first start from the registry against seeding from production then starting, same run
  const seedStart = cases.find((c) => c.id === 'registry:seed-start' && c.status === 'ok')?.medianMs
  const pullStart = cases.find((c) => c.id === 'registry:pull-start' && c.status === 'ok')
  if (seedStart && pullStart?.medianMs) pullStart.speedupVsBaseline = seedStart / pullStart.medianMs
  const base = cases.find((c) => c.id === 'baseline' && c.status === 'ok')?.medianMs
  if (!base) return
  for (const c of cases) {
    if (c.status !== 'ok' || !c.medianMs) continue
    if (['baseline', 'cold', 'cold:first-start', 'warm', 'reset', 'container:cold-start', 'container:warm-start'].includes(c.id)) c.speedupVsBaseline = base / c.medianMs
  }
}

/** Median per phase over the samples that have phases. */
export function medianPhases(samples: Sample[]): Record<string, number> | undefined {
  const withPhases = samples.filter((s) => s.phases)
  if (!withPhases.length) return undefined
  const names = [...new Set(withPhases.flatMap((s) => Object.keys(s.phases!)))]
  return Object.fromEntries(names.map((n) => [n, median(withPhases.map((s) => s.phases![n] ?? 0))]))
}

export function checkTargets(cases: CaseResult[], sizes: SizeFigures | undefined, sizeBytes: number): TargetCheck[] {
  const byId = (id: string) => cases.find((c) => c.id === id && c.status === 'ok')
  const out: TargetCheck[] = []
  const ratio = (id: string, needed: number, what: string) => {
    const c = byId(id)
    const r = c?.speedupVsBaseline
    out.push({ target: `${what} >= ${needed}x faster than the original method`, met: r === undefined ? null : r >= needed, figure: r === undefined ? 'not measured' : `${r.toFixed(2)}x (median ${secs(c!.medianMs!)} vs ${secs(byId('baseline')!.medianMs!)})` })
  }
  ratio('warm', 6, 'warm start')
  ratio('cold', 1.3, 'cold start')
  const reset = byId('reset')
  const at384 = Math.abs(sizeBytes - 384 * 1024 ** 2) < 1024 ** 2
  out.push({
    target: 'reset < 1 s at 384 MB',
    met: reset ? (at384 ? reset.medianMs! < 1000 : null) : null,
    figure: reset ? `median ${secs(reset.medianMs!)}${at384 ? '' : ` (at ${mib(sizeBytes)}: the target is for 384 MB)`}` : 'not measured',
  })
  out.push({
    target: 'reset() from code: median < 50 ms',
    met: reset ? reset.medianMs! < 50 : null,
    figure: reset ? `median ${(reset.medianMs!).toFixed(1)} ms (resetHost in a worker process, timed there)` : 'not measured',
  })
  const testDb = byId('reset:test-db')
  out.push({
    target: 'a test database from a warm pool: median < 20 ms',
    met: testDb ? testDb.medianMs! < 20 : null,
    figure: testDb ? `median ${(testDb.medianMs!).toFixed(1)} ms` : 'not measured',
  })
  out.push({
    target: 'at-rest snapshot no larger than gzip -6 of the dump',
    met: sizes ? sizes.atRestBytes <= sizes.gzip6Bytes : null,
    figure: sizes ? `${mib(sizes.atRestBytes)} vs ${mib(sizes.gzip6Bytes)} (${pct(sizes.atRestBytes, sizes.gzip6Bytes)} of gzip -6)` : 'not measured',
  })
  const plainPull = byId('anonymize:plain')
  const anonPull = byId('anonymize')
  const anonRatio = plainPull && anonPull ? anonPull.medianMs! / plainPull.medianMs! : undefined
  out.push({
    target: 'anonymized pull (scan included) <= 1.25x a plain pull',
    met: anonRatio === undefined ? null : anonRatio <= 1.25,
    figure: anonRatio === undefined ? 'not measured' : `${anonRatio.toFixed(2)}x (median ${secs(anonPull!.medianMs!)} vs ${secs(plainPull!.medianMs!)})`,
  })
  const full = byId('container:full-build')
  const rebuild = byId('container:bump-rebuild')
  out.push({
    target: 'version-bump rebuild < 10% of a full image build',
    met: full && rebuild ? rebuild.medianMs! < 0.1 * full.medianMs! : null,
    figure: full && rebuild ? `${secs(rebuild.medianMs!)} vs ${secs(full.medianMs!)} (${pct(rebuild.medianMs!, full.medianMs!)})` : 'not measured (see the container rows)',
  })
  return out
}

// ---- rendering -------------------------------------------------------------------------------------

const HEAD = ['case', 'min', 'median', 'vs baseline', 'peak RSS', 'tmpfs used', 'n', 'what the figure covers']

function caseCells(c: CaseResult): string[] {
  if (c.status !== 'ok') return [c.label, '-', '-', '-', '-', '-', '0', `${c.status}: ${c.reason ?? ''}`]
  return [
    c.label,
    secs(c.minMs!),
    secs(c.medianMs!),
    c.speedupVsBaseline === undefined ? 'n/a' : `${c.speedupVsBaseline.toFixed(2)}x`,
    c.peakRssBytes === undefined ? '-' : mib(c.peakRssBytes),
    c.tmpfsBytes === undefined ? '-' : mib(c.tmpfsBytes),
    String(c.samples.length),
    c.note ?? '',
  ]
}

export function machineLines(r: BenchReport): string[] {
  const m = r.machine
  return [
    `machine: ${m.cpuModel}, ${m.cores} cores, ${mib(m.ramBytes, 0)} RAM, ${m.os}, Linux ${m.kernel}, Node.js ${m.node}`,
    `load average at start: ${m.loadAverageAtStart.join(' ')}${m.loadAverageAtEnd ? `; at end: ${m.loadAverageAtEnd.join(' ')}` : ''}  (the machine is shared: other work runs alongside)`,
    `dump: ${mib(r.dump.bytes)} plain SQL (${r.dump.bytes} bytes), demo generator seed ${r.dump.seed}, requested --size ${r.options.size}`,
    `PostgreSQL: server ${m.postgres.embeddedServer}; psql client ${m.postgres.psqlClient}${m.postgres.productionServer ? `; seed source ${m.postgres.productionServer} via ${m.postgres.pgDump}` : ''}${m.podman ? `; ${m.podman}` : ''}`,
    `run: ${r.startedAt} .. ${r.finishedAt}, repeat ${r.options.repeat}, cases ${r.options.cases.join(',')}`,
  ]
}

export function renderText(r: BenchReport): string {
  const lines = [...machineLines(r), '', ...textTable(HEAD, r.cases.map(caseCells))]
  if (r.sizes) lines.push('', ...sizeLines(r.sizes))
  if (r.baselineProfile) lines.push('', 'original method, median per phase:', ...textTable(['phase', 'median', 'share'], profileRows(r.baselineProfile)))
  if (r.coldStartProfile) lines.push('', 'runner cold start, median per phase:', ...textTable(['phase', 'median', 'share'], profileRows(r.coldStartProfile)))
  if (r.warmStartProfile) lines.push('', 'runner warm start, median per phase:', ...textTable(['phase', 'median', 'share'], profileRows(r.warmStartProfile)))
  for (const [label, p] of Object.entries(r.containerProfiles ?? {})) lines.push('', `${label}, median per phase:`, ...textTable(['phase', 'median', 'share'], profileRows(p)))
  lines.push('', 'targets:', ...textTable(['target', 'result', 'figure'], r.targets.map(targetCells)))
  if (r.notes.length) lines.push('', ...r.notes.map((n) => `note: ${n}`))
  return lines.join('\n') + '\n'
}

export function renderMarkdown(r: BenchReport): string {
  const out = [
    `Measured by \`${r.command}\` on ${r.finishedAt.slice(0, 10)}:`,
    '',
    ...machineLines(r).map((l) => `- ${l}`),
    '',
    ...mdTable(HEAD, r.cases.map(caseCells)),
  ]
  if (r.sizes) out.push('', 'Sizes:', '', ...sizeLines(r.sizes).map((l) => `- ${l}`))
  if (r.baselineProfile) out.push('', 'Original method, median per phase:', '', ...mdTable(['phase', 'median', 'share'], profileRows(r.baselineProfile)))
  if (r.coldStartProfile) out.push('', 'Runner cold start, median per phase:', '', ...mdTable(['phase', 'median', 'share'], profileRows(r.coldStartProfile)))
  if (r.warmStartProfile) out.push('', 'Runner warm start, median per phase:', '', ...mdTable(['phase', 'median', 'share'], profileRows(r.warmStartProfile)))
  for (const [label, p] of Object.entries(r.containerProfiles ?? {})) out.push('', `${label[0]!.toUpperCase()}${label.slice(1)}, median per phase:`, '', ...mdTable(['phase', 'median', 'share'], profileRows(p)))
  out.push('', 'Targets (ratios against the original method in the same run):', '', ...mdTable(['target', 'result', 'figure'], r.targets.map(targetCells)))
  if (r.notes.length) out.push('', ...r.notes.map((n) => `- ${n}`))
  return out.join('\n') + '\n'
}

export async function writeResults(dir: string, r: BenchReport): Promise<{ json: string; md: string }> {
  await mkdir(dir, { recursive: true })
  const stamp = r.startedAt.replace(/[:.]/g, '-')
  const json = JSON.stringify(r, null, 2) + '\n'
  const md = renderMarkdown(r)
  const files = { json: join(dir, `bench-${stamp}.json`), md: join(dir, `bench-${stamp}.md`) }
  await writeFile(files.json, json)
  await writeFile(files.md, md)
  await writeFile(join(dir, 'latest.json'), json)
  await writeFile(join(dir, 'latest.md'), md)
  return files
}

function sizeLines(s: SizeFigures): string[] {
  const lines = [
    `plain dump ${mib(s.plainBytes)}; gzip -6 ${mib(s.gzip6Bytes)} (${pct(s.gzip6Bytes, s.plainBytes)}, ${secs(s.gzip6Ms)}); snapshot at rest (${s.atRestCompression}) ${mib(s.atRestBytes)} (${pct(s.atRestBytes, s.plainBytes)} of plain, ${pct(s.atRestBytes, s.gzip6Bytes)} of gzip -6)`,
  ]
  if (s.sshPlainBytes !== undefined && s.sshAtRestBytes !== undefined) {
    lines.push(`seed over ssh (pg_dump 15 of the same data): plain ${mib(s.sshPlainBytes)}, at rest ${mib(s.sshAtRestBytes)} (${pct(s.sshAtRestBytes, s.sshPlainBytes)})`)
  }
  return lines
}

function profileRows(p: Record<string, number>): string[][] {
  const total = Object.values(p).reduce((a, b) => a + b, 0)
  return Object.entries(p).map(([k, v]) => [k, secs(v), pct(v, total)])
}

function targetCells(t: TargetCheck): string[] {
  return [t.target, t.met === null ? 'n/a' : t.met ? 'met' : 'MISSED', t.figure]
}

function textTable(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)]
}

function mdTable(head: string[], rows: string[][]): string[] {
  const esc = (c: string) => c.replace(/\|/g, '\\|')
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)]
}

export function secs(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`
}

export function mib(bytes: number, digits = 1): string {
  return `${(bytes / 1024 ** 2).toFixed(digits)} MiB`
}

function pct(part: number, whole: number): string {
  return `${((part / whole) * 100).toFixed(1)}%`
}
