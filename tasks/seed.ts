import { anonymizeSettings } from '../lib/anonymize/from-config.ts'
import { describeFindings } from '../lib/anonymize/report.ts'
import { RotvError } from '../lib/errors.ts'
import { openStore } from '../lib/snapshots/index.ts'
import { registrySource } from '../lib/registry/index.ts'
import { hostSettings, sourceSpec } from '../lib/runtime/from-config.ts'
import { pullSnapshot } from '../lib/refresh/index.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { mb, seconds } from './format.ts'

export default defineTask({
  name: 'seed',
  description: 'Pull a fresh snapshot from production (or a named environment) into the snapshot store, anonymized with --anonymize or ANONYMIZE=true',
  dependsOn: ['validate-env'],
  args: [{ name: 'source', description: 'environment to pull from: production, staging, ... or demo (default: the configured one)' }],
  options: [
    { name: 'as', type: 'string', description: 'store the snapshot under this name (default: the source\'s name)' },
    { name: 'from-file', type: 'string', description: 'import a dump file a colleague handed over (.sql, .sql.gz, .sql.br; a pg_dump -Fc/-Ft archive through pg_restore)' },
    { name: 'anonymize', type: 'flag', description: 'rewrite personal data in flight by anonymize.config.ts (default: ANONYMIZE); needs ANONYMIZE_SALT' },
    { name: 'no-anonymize', type: 'flag', description: 'store the data as pulled, even with ANONYMIZE=true' },
    { name: 'strict', type: 'flag', description: 'with anonymization: uncovered personal-looking columns and stale rules fail the pull (default: ANONYMIZE_STRICT)' },
    { name: 'full', type: 'flag', description: 'pull everything, even when a previous snapshot of this source allows an incremental refresh' },
    { name: 'rules', type: 'string', description: 'anonymization rules file (default: anonymize.config.ts)' },
  ],
  examples: [
    'npx tsx Taskfile.ts seed                      # pull from the configured production',
    'npx tsx Taskfile.ts seed staging              # pull from STAGING_*',
    'npx tsx Taskfile.ts seed --as prod-2026-01    # keep a named copy',
    'npx tsx Taskfile.ts seed --anonymize --as shareable   # no personal data reaches the disk',
    'npx tsx Taskfile.ts seed --from-file dump.sql.gz --as from-alice',
    'npx tsx Taskfile.ts seed --full               # no incremental refresh: pull everything',
  ],
  async run(ctx, io) {
    const config = ctx.loaded.config
    const inv = ctx.invocations.get('seed')
    const fromFile = inv?.options['from-file'] as string | undefined
    const on = inv?.options.anonymize === true
    const off = inv?.options['no-anonymize'] === true
    if (on && off) throw new RotvError('--anonymize and --no-anonymize contradict each other', { fix: 'pass one of them' })
    const anonymize = await anonymizeSettings(ctx.root, ctx.loaded, {
      anonymize: on ? true : off ? false : undefined,
      strict: inv?.options.strict === true ? true : undefined,
      rulesFile: inv?.options.rules as string | undefined,
    })
    const spec = fromFile
      ? { name: 'file', kind: 'file' as const, file: fromFile }
      : sourceSpec(config, inv?.args.source as string | undefined)
    const as = (inv?.options.as as string | undefined) ?? (fromFile ? undefined : spec.name)
    const store = openStore(config.dataHome)
    io.log(`pulling from ${spec.kind === 'demo' ? 'the bundled demo data' : `${spec.name} (${spec.kind}${spec.host ? ` via ${spec.host}` : spec.ref ? ` ${spec.ref}` : ''})`}`)
    if (anonymize) io.log(`anonymizing in flight by ${anonymize.rulesOrigin ?? 'the rules'}${anonymize.strict ? ' (strict)' : ''}`)
    // The registry source reports its download and digest checks, which come before any SQL flows.
    const source = spec.kind === 'registry' ? registrySource(spec, { onStatus: (s) => io.progress(s) }) : spec
    const pulled = await pullSnapshot(store, spec, source, {
      as: as ?? spec.name,
      full: inv?.options.full === true || fromFile !== undefined,
      local: hostSettings(config),
      onDecision: (line) => io.log(line),
      onStatus: (line) => io.progress(line),
      signal: ctx.signal,
      anonymize,
      onProgress: (p) => io.progress(`${mb(p.bytes)} received at ${mb(p.bytesPerSecond)}/s, ${mb(p.dumpBytes)} of SQL, ${seconds(p.elapsedMs)}`),
    })
    const manifest = pulled.manifest
    for (const w of manifest.anonymization?.warnings ?? []) io.warn(`anonymization: ${w}`)
    const scan = manifest.anonymization?.leakScan
    if (scan) {
      const found = scan.findings.reduce((n, f) => n + f.count, 0)
      io.log(`leak scan: ${scan.values} personal values fingerprinted, ${found ? `${found} found in the output and masked${scan.rescanned ? ' (second pass)' : ''}:` : 'none found in the output'}`)
      for (const line of describeFindings(scan.findings)) io.log(`  ${line}`)
    }
    for (const [col, hits] of Object.entries(manifest.anonymization?.freeText ?? {})) {
      io.log(`free text: ${col}: ${Object.entries(hits).map(([d, n]) => `${n} ${d}`).join(', ')} replaced`)
    }
    const anon = manifest.anonymization
      ? `, anonymized (rules ${manifest.anonymization.rulesSha256.slice(0, 12)}, salt ${manifest.anonymization.saltFingerprint})`
      : ''
    const summary = `snapshot "${manifest.name}": ${manifest.totalRows.toLocaleString('en-US')} rows, ${mb(manifest.uncompressedBytes)} of SQL stored as ${mb(manifest.compressedBytes)}${anon}`
    const refreshed = pulled.incremental
      ? `; incremental: ${pulled.tablesChanged} tables changed (${pulled.chunksChanged} key ranges), ${mb(pulled.bytesReceived)} received`
      : ''
    return {
      summary: `${summary}${refreshed}`,
      data: { ...manifest, incremental: pulled.incremental, bytesReceived: pulled.bytesReceived, tablesChanged: pulled.tablesChanged ?? null, chunksChanged: pulled.chunksChanged ?? null },
    }
  },
})
