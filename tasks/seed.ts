import { openStore } from '../lib/snapshots/index.ts'
import { sourceSpec } from '../lib/runtime/from-config.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { mb, seconds } from './format.ts'

export default defineTask({
  name: 'seed',
  description: 'Pull a fresh snapshot from production (or a named environment) into the snapshot store',
  dependsOn: ['validate-env'],
  args: [{ name: 'source', description: 'environment to pull from: production, staging, ... or demo (default: the configured one)' }],
  options: [
    { name: 'as', type: 'string', description: 'store the snapshot under this name (default: the source\'s name)' },
    { name: 'from-file', type: 'string', description: 'import a dump file a colleague handed over (.sql, .sql.gz, .sql.br)' },
  ],
  examples: [
    'npx tsx Taskfile.ts seed                      # pull from the configured production',
    'npx tsx Taskfile.ts seed staging              # pull from STAGING_*',
    'npx tsx Taskfile.ts seed --as prod-2026-01    # keep a named copy',
    'npx tsx Taskfile.ts seed --from-file dump.sql.gz --as from-alice',
  ],
  async run(ctx, io) {
    const config = ctx.loaded.config
    const inv = ctx.invocations.get('seed')
    const fromFile = inv?.options['from-file'] as string | undefined
    const spec = fromFile
      ? { name: 'file', kind: 'file' as const, file: fromFile }
      : sourceSpec(config, inv?.args.source as string | undefined)
    const as = (inv?.options.as as string | undefined) ?? (fromFile ? undefined : spec.name)
    const store = openStore(config.dataHome)
    io.log(`pulling from ${spec.kind === 'demo' ? 'the bundled demo data' : `${spec.name} (${spec.kind}${spec.host ? ` via ${spec.host}` : ''})`}`)
    const manifest = await store.pull(spec, {
      as,
      signal: ctx.signal,
      onProgress: (p) => io.progress(`${mb(p.bytes)} received at ${mb(p.bytesPerSecond)}/s, ${mb(p.dumpBytes)} of SQL, ${seconds(p.elapsedMs)}`),
    })
    const summary = `snapshot "${manifest.name}": ${manifest.totalRows.toLocaleString('en-US')} rows, ${mb(manifest.uncompressedBytes)} of SQL stored as ${mb(manifest.compressedBytes)}`
    return { summary, data: manifest }
  },
})
