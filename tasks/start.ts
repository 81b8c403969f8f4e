import { RotvError } from '../lib/errors.ts'
import { openStore, ageOf } from '../lib/snapshots/index.ts'
import { hostSettings, snapshotHandle, snapshotName } from '../lib/runtime/from-config.ts'
import { startHost, stopHost } from '../lib/runtime/host.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { countsLine } from './format.ts'

export default defineTask({
  name: 'start',
  description: 'Start the app on a throwaway in-memory PostgreSQL loaded with the snapshot (clean slate every time)',
  dependsOn: ['validate-env', 'seed-fresh'],
  args: [{ name: 'snapshot', description: 'snapshot to start on (default: SNAPSHOT, else the configured source\'s)' }],
  options: [{ name: 'foreground', type: 'flag', description: 'stay attached: app output here, Ctrl-C stops everything' }],
  examples: [
    'npx tsx Taskfile.ts start',
    'npx tsx Taskfile.ts start prod-2026-01',
    'npx tsx Taskfile.ts start --foreground',
    'PERSISTENT_DATA=true npx tsx Taskfile.ts start   # production: data kept in DATA_DIR',
  ],
  async run(ctx, io) {
    const config = ctx.loaded.config
    if (config.runtime === 'container') {
      throw new RotvError('RUNTIME=container is not available yet in this version', { fix: 'set RUNTIME=host (or auto)' })
    }
    const settings = hostSettings(config)
    const name = (ctx.state.snapshotName as string | undefined) ?? snapshotName(config, ctx.invocations.get('start')?.args.snapshot as string | undefined)
    const store = openStore(config.dataHome)
    const snapshot = await snapshotHandle(store, name)
    const foreground = Boolean(ctx.invocations.get('start')?.options.foreground)
    // startHost stops whatever it started when it fails or is interrupted; an environment that was
    // already running is never touched by a failed start.
    const result = await startHost(settings, {
      snapshot,
      foreground,
      signal: ctx.signal,
      onProgress: (m) => io.progress(m),
    })
    for (const n of result.notices) io.log(n)
    const manifest = await store.get(name)
    const how = result.state.prepared === 'warm' ? 'warm start from the cached cluster' : result.state.prepared === 'imported' ? 'snapshot imported' : 'existing data kept'
    io.log(`${how}; snapshot "${name}"${manifest ? `, pulled ${ageOf(manifest).text} ago` : ''}; ${config.persistentData ? `data in ${config.dataDir}` : 'in-memory data (thrown away on stop)'}`)
    const summary = `ready at ${result.url}: ${countsLine(result.health.counts)}`
    if (foreground && result.exited) {
      io.log(`${summary}\n(attached: Ctrl-C stops the app and PostgreSQL)`)
      await Promise.race([result.exited, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))])
      await stopHost(config.dataHome)
      return { summary: 'stopped', data: { url: result.url } }
    }
    return {
      summary,
      data: { url: result.url, counts: result.health.counts, schemaVersion: result.health.schemaVersion, snapshot: name, prepared: result.state.prepared, mode: result.state.mode },
    }
  },
})
