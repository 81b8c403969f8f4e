import { anonymizeSettings } from '../lib/anonymize/from-config.ts'
import { ensureFresh, openStore } from '../lib/snapshots/index.ts'
import { snapshotName, sourceSpec } from '../lib/runtime/from-config.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { mb, seconds } from './format.ts'

export default defineTask({
  name: 'seed-fresh',
  description: 'Make sure the snapshot exists (pull it when missing) and warn when it is older than SEED_MAX_AGE_DAYS',
  dependsOn: ['validate-env'],
  args: [{ name: 'snapshot', description: 'snapshot name (default: the one start uses)' }],
  options: [{ name: 'refresh', type: 'flag', description: 'pull again when the snapshot is stale instead of only warning (for CI)' }],
  examples: ['npx tsx Taskfile.ts seed-fresh', 'npx tsx Taskfile.ts seed-fresh --refresh'],
  async run(ctx, io) {
    const config = ctx.loaded.config
    const explicit = (ctx.invocations.get('seed-fresh')?.args.snapshot ?? ctx.invocations.get('start')?.args.snapshot) as string | undefined
    const name = snapshotName(config, explicit)
    const store = openStore(config.dataHome)
    // A snapshot named after a configured source is pulled from it; any other name (demo, a named copy
    // that went missing) falls back to the demo data, which ensureFresh says.
    const source = config.seed.sources[name] && name !== 'demo' ? sourceSpec(config, name) : name === 'demo' ? sourceSpec(config, 'demo') : undefined
    const result = await ensureFresh({
      store,
      name,
      source,
      maxAgeDays: config.seed.maxAgeDays,
      refreshStale: Boolean(ctx.invocations.get('seed-fresh')?.options.refresh),
      // ANONYMIZE=true covers the automatic pull of `start` too, not only `seed`.
      anonymize: await anonymizeSettings(ctx.root, ctx.loaded),
      signal: ctx.signal,
      onProgress: (p) => io.progress(`${mb(p.bytes)} received at ${mb(p.bytesPerSecond)}/s, ${seconds(p.elapsedMs)}`),
    })
    for (const n of result.notices) {
      // The message ends with the command where there is one; printing n.command again said it twice.
      const text = n.command && !n.message.includes(n.command) ? `${n.message}; refresh it with: ${n.command}` : n.message
      if (n.level === 'warn') io.warn(text)
      else io.log(text)
    }
    ctx.state.snapshotName = name
    return { summary: `snapshot "${name}" ${result.action} (${result.manifest.totalRows.toLocaleString('en-US')} rows)`, data: { name, action: result.action } }
  },
})
