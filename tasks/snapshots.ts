import { RotvError } from '../lib/errors.ts'
import { describeFindings, scanSnapshot } from '../lib/anonymize/index.ts'
import { LeakFindingsError } from '../lib/anonymize/errors.ts'
import { migrationsDigest } from '../lib/migrations.ts'
import { resolveBinaries } from '../lib/postgres/binaries.ts'
import { parseReference, pushSnapshot, registrySource } from '../lib/registry/index.ts'
import { registryAccess } from '../lib/runtime/from-config.ts'
import { ageOf, exportSnapshot, openStore } from '../lib/snapshots/index.ts'
import { describeSchedule, scheduleStatus } from '../lib/schedule/index.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { join } from 'node:path'
import { mb } from './format.ts'

export default defineTask({
  name: 'snapshots',
  description: 'List the stored snapshots (name, source, age, size, rows); `snapshots rm NAME` deletes, `snapshots verify NAME` checks, `snapshots export NAME` writes one file to hand over, `snapshots scan NAME` runs the leak scan (exit 1 on findings), `snapshots push NAME REF` / `snapshots pull REF` share them through an OCI registry',
  args: [
    { name: 'action', description: 'list (default), rm, verify, export, scan, push or pull' },
    { name: 'name', description: 'the snapshot, for rm, verify, export, scan and push; the registry reference for pull' },
    { name: 'ref', description: 'push: the registry reference, HOST[:PORT]/REPOSITORY[:TAG]' },
  ],
  options: [
    { name: 'out', type: 'string', description: 'export: target file; .sql.gz (default ./NAME.sql.gz), .sql.zst (as stored), .sql.br or .sql' },
    { name: 'force', type: 'flag', description: 'export: also a snapshot that may not leave the machine (not anonymized, or personal-looking columns without a rule)' },
    { name: 'as', type: 'string', description: 'pull: store under this name (default: the reference\'s tag)' },
    { name: 'allow-personal-data', type: 'flag', description: 'push: also a snapshot that may not leave the machine (not anonymized, or personal-looking columns without a rule): everyone who can pull from the repository sees that data' },
    { name: 'tls-verify', type: 'string', description: 'push, pull: false for a plain-HTTP registry (or an unchecked certificate) on loopback (default: REGISTRY_TLS_VERIFY)' },
    { name: 'no-cluster', type: 'flag', description: 'push: leave the warm cluster out (by default it goes along when this data home has one for the snapshot)' },
  ],
  examples: [
    'npx tsx Taskfile.ts snapshots',
    'npx tsx Taskfile.ts snapshots rm prod-2026-01',
    'npx tsx Taskfile.ts snapshots verify production',
    'npx tsx Taskfile.ts snapshots export shareable --out shareable.sql.gz   # then: seed --from-file shareable.sql.gz',
    'npx tsx Taskfile.ts snapshots push production registry.example.com/team/rotv-snapshots:production',
    'npx tsx Taskfile.ts snapshots pull registry.example.com/team/rotv-snapshots:production',
    'npx tsx Taskfile.ts snapshots scan shareable   # personal data left? exit 1 if so',
  ],
  async run(ctx, io) {
    const config = ctx.loaded.config
    const store = openStore(config.dataHome)
    const inv = ctx.invocations.get('snapshots')
    const action = (inv?.args.action as string | undefined) ?? 'list'
    const name = inv?.args.name as string | undefined
    const tlsOption = inv?.options['tls-verify'] as string | undefined
    if (tlsOption !== undefined && !['true', 'false'].includes(tlsOption)) throw new RotvError(`--tls-verify takes true or false, not "${tlsOption}"`, { fix: 'pass --tls-verify=false for a plain-HTTP registry on loopback' })
    const access = registryAccess(config, { tlsVerify: tlsOption === undefined ? undefined : tlsOption === 'true' })
    if (action === 'push') {
      const ref = inv?.args.ref as string | undefined
      if (!name || !ref) throw new RotvError('snapshots push needs a snapshot name and a registry reference', { fix: 'npx tsx Taskfile.ts snapshots push NAME HOST/REPOSITORY:TAG' })
      let cluster
      if (inv?.options['no-cluster'] !== true) {
        const binaries = await resolveBinaries({ binDir: config.pgBinDir, runAs: config.pgRunAs })
        cluster = { cacheDir: access.clusterCacheDir!, pgVersion: binaries.version.full, migrationsDigest: await migrationsDigest(join(config.root, 'app', 'migrations')) }
      }
      const r = await pushSnapshot({
        store, name, ref, access, cluster, signal: ctx.signal,
        allowPersonalData: inv?.options['allow-personal-data'] === true,
        onStatus: (s) => io.progress(s),
      })
      if (r.verdict.warning) io.warn(`${r.verdict.warning}: everyone who can pull ${r.ref} sees it`)
      const warm = r.cluster ? `, with the warm cluster for PostgreSQL ${r.cluster.pgVersion} ${r.cluster.arch} (${mb(r.cluster.bytes)})` : ', no warm cluster (start it once here to make one)'
      return {
        summary: `pushed "${name}" to ${r.ref}: ${r.blobs} blobs, ${mb(r.bytes)}; uploaded ${r.uploadedBlobs} (${mb(r.uploadedBytes)}), the registry already held the rest${warm}`,
        data: r,
      }
    }
    if (action === 'pull') {
      if (!name) throw new RotvError('snapshots pull needs a registry reference', { fix: 'npx tsx Taskfile.ts snapshots pull HOST/REPOSITORY:TAG [--as NAME]' })
      const source = registrySource({ name: 'registry', kind: 'registry', ref: name, registry: access }, { onStatus: (s) => io.progress(s) })
      // The store names a pull before it opens the source: the tag is the name (push REF's tag is the snapshot's name by convention).
      const m = await store.pull(source, { as: (inv?.options.as as string | undefined) ?? parseReference(name).tag, signal: ctx.signal })
      const cluster = source.report.cluster === 'installed' ? 'the warm cluster is installed (the first start is warm)' : source.report.cluster === 'none' ? 'no warm cluster came with it (the first start imports it)' : `warm cluster ${source.report.cluster}`
      return { summary: `pulled "${m.name}" from ${name}: ${m.totalRows.toLocaleString('en-US')} rows, ${mb(source.report.bytes)} transferred${m.synthetic ? ', synthetic demo data' : m.anonymized ? ', anonymized' : ', NOT anonymized'}; ${cluster}`, data: { manifest: m, ...source.report } }
    }
    if (action === 'rm' || action === 'verify' || action === 'export' || action === 'scan') {
      if (!name) throw new RotvError(`snapshots ${action} needs a snapshot name`, { fix: `npx tsx Taskfile.ts snapshots ${action} NAME` })
      if (action === 'rm') {
        const removed = await store.remove(name)
        if (!removed) throw new RotvError(`there is no snapshot named "${name}"`, { fix: 'run `npx tsx Taskfile.ts snapshots` to list them' })
        return { summary: `removed snapshot "${name}"` }
      }
      if (action === 'export') {
        const r = await exportSnapshot(store, name, { out: inv?.options.out as string | undefined, force: inv?.options.force === true, signal: ctx.signal })
        if (r.verdict.warning) io.warn(`${r.verdict.warning}: ${r.path} is readable by you only`)
        const anon = r.manifest.synthetic
          ? 'synthetic demo data'
          : r.manifest.anonymization ? `anonymized (rules ${r.manifest.anonymization.rulesSha256.slice(0, 12)}, salt ${r.manifest.anonymization.saltFingerprint})` : 'not anonymized'
        return { summary: `exported "${name}" to ${r.path} (${r.format}, ${mb(r.bytes)}, ${anon})`, data: { path: r.path, format: r.format, bytes: r.bytes } }
      }
      if (action === 'scan') {
        const r = await scanSnapshot(store, name, { salt: ctx.loaded.values.get('ANONYMIZE_SALT')?.value, signal: ctx.signal })
        const lines = [
          ...Object.entries(r.patterns).flatMap(([col, hits]) => Object.entries(hits).map(([kind, n]) => `${col}: ${n} ${kind} pattern match${n === 1 ? '' : 'es'}`)),
          ...describeFindings(r.fingerprints),
        ]
        const fp = r.fingerprintsSkipped ? `patterns only (${r.fingerprintsSkipped})` : `patterns and ${r.fingerprintCount} fingerprints of the pull's personal values`
        if (r.findings) throw new LeakFindingsError(name, r.findings, lines)
        return { summary: `snapshot "${name}": the leak scan found nothing (${fp})`, data: r }
      }
      const m = await store.verify(name)
      return { summary: `snapshot "${name}" is intact (sha256 ${m.sha256.slice(0, 12)}, ${mb(m.compressedBytes)})` }
    }
    if (action !== 'list') throw new RotvError(`unknown action "${action}"`, { fix: 'use list, rm NAME, verify NAME, export NAME, scan NAME, push NAME REF or pull REF' })
    const all = await store.list()
    const maxAge = ctx.loaded.config.seed.maxAgeDays
    // Columns as wide as their widest cell: an age like "less than a minute" no longer shifts the rest.
    const rows = all.map((m) => {
      const age = ageOf(m)
      const biggest = Object.entries(m.tables).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([t, n]) => `${t.replace(/^public\./, '')} ${n.toLocaleString('en-US')}`)
      return [m.name, m.source.kind, `${age.text} old${age.days > maxAge ? ' (STALE)' : ''}`, `${mb(m.compressedBytes)} on disk`, `${m.totalRows.toLocaleString('en-US')} rows`, `(${biggest.join(', ')})${m.anonymized ? '  anonymized' : ''}${m.synthetic ? '  synthetic' : ''}`]
    })
    for (const line of alignColumns(rows, [3, 4])) io.log(line)
    const st = await scheduleStatus(ctx.loaded.config.dataHome)
    const scheduled = describeSchedule(st)
    if (scheduled && st.lastRun && !st.lastRun.ok) io.warn(scheduled)
    else if (scheduled) io.log(scheduled)
    return { summary: all.length ? `${all.length} snapshot${all.length > 1 ? 's' : ''}` : 'no snapshots yet (npx tsx Taskfile.ts seed)', data: all }
  },
})

/** Cells padded to their column's widest; the columns in `right` are right-aligned (sizes, counts). */
function alignColumns(rows: string[][], right: number[]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), [])
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  '))
}
