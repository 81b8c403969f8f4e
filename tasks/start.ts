import { openStore, ageOf } from '../lib/snapshots/index.ts'
import { hostSettings, snapshotHandle, snapshotName } from '../lib/runtime/from-config.ts'
import { startHost, stopHost } from '../lib/runtime/host.ts'
import { followAndStop, startContainer } from '../lib/runtime/container.ts'
import { containerSettings } from '../lib/container/settings.ts'
import { containerSnapshot } from '../lib/container/snapshot.ts'
import { assertNotRunningElsewhere, runtimeForStart } from '../lib/container/select-runtime.ts'
import { defineTask } from '../lib/tasks/types.ts'
import { RotvError } from '../lib/errors.ts'
import { countsLine, withLine } from './format.ts'

export default defineTask({
  name: 'start',
  description: 'Start the app on a throwaway in-memory PostgreSQL loaded with the snapshot (clean slate every time)',
  dependsOn: ['validate-env', 'seed-fresh'],
  args: [{ name: 'snapshot', description: 'snapshot to start on (default: SNAPSHOT, else the configured source\'s)' }],
  options: [
    { name: 'foreground', type: 'flag', description: 'stay attached: app output here, Ctrl-C stops everything' },
    { name: 'db-only', type: 'flag', description: 'only the throwaway PostgreSQL with the snapshot (no app, no app migrations); prints its postgres:// URL' },
  ],
  examples: [
    'npx tsx Taskfile.ts start',
    'npx tsx Taskfile.ts start prod-2026-01',
    'npx tsx Taskfile.ts start --foreground',
    'npx tsx Taskfile.ts start --db-only   # any pg_dump: just the database, URL printed',
    'RUNTIME=container npx tsx Taskfile.ts start   # in the image built by `build`',
    'PERSISTENT_DATA=true npx tsx Taskfile.ts start   # production: data kept in DATA_DIR',
  ],
  async run(ctx, io) {
    const config = ctx.loaded.config
    const name = (ctx.state.snapshotName as string | undefined) ?? snapshotName(config, ctx.invocations.get('start')?.args.snapshot as string | undefined)
    const store = openStore(config.dataHome)
    const manifest = await store.get(name)
    const pulled = manifest ? `, pulled ${ageOf(manifest).text} ago` : ''
    const where = config.persistentData ? `data in ${config.dataDir}` : 'in-memory data (thrown away on stop)'

    const foreground = Boolean(ctx.invocations.get('start')?.options.foreground)
    const dbOnly = Boolean(ctx.invocations.get('start')?.options['db-only'])
    const runtime = await runtimeForStart(config, (line) => io.log(line))
    assertNotRunningElsewhere(config, runtime)
    if (runtime === 'container') {
      if (dbOnly) throw new RotvError('start --db-only runs on the host runtime only (for now)', { fix: 'run it with RUNTIME=host' })
      const settings = containerSettings(config)
      const result = await startContainer(settings, { snapshot: await containerSnapshot(store, name), signal: ctx.signal, onProgress: (m) => io.progress(m) })
      for (const n of result.notices) io.log(n)
      io.log(`container ${settings.name} (${settings.image}); ${describePrepared(result.state.prepared)}; snapshot "${name}"${pulled}; ${where}`)
      const summary = withLine(`ready at ${result.url}`, countsLine(result.health.counts, config.project))
      if (foreground) {
        io.log(`${summary}\n(attached: Ctrl-C stops the container)`)
        await followAndStop(config.dataHome, ctx.signal)
        return { summary: 'stopped', data: { url: result.url }, endedByInterrupt: true }
      }
      return {
        summary,
        data: { url: result.url, counts: result.health.counts, schemaVersion: result.health.schemaVersion, snapshot: name, prepared: result.state.prepared, mode: result.state.mode, runtime: 'container' },
      }
    }

    const snapshot = await snapshotHandle(store, name)
    // startHost stops whatever it started when it fails or is interrupted; an environment that was
    // already running is never touched by a failed start.
    const result = await startHost(hostSettings(config), { snapshot, foreground, dbOnly, signal: ctx.signal, onProgress: (m) => io.progress(m) })
    for (const n of result.notices) io.log(n)
    if (dbOnly) {
      io.log(`${describePrepared(result.state.prepared)}; snapshot "${name}"${pulled}; ${where}; no app`)
      return {
        summary: `database ready at ${result.databaseUrl}`,
        data: { databaseUrl: result.databaseUrl, snapshot: name, prepared: result.state.prepared, mode: result.state.mode, runtime: 'host', dbOnly: true },
      }
    }
    io.log(`${describePrepared(result.state.prepared)}; snapshot "${name}"${pulled}; ${where}`)
    const summary = withLine(`ready at ${result.url}`, result.readyLine)
    if (foreground && result.exited) {
      io.log(`${summary}\n(attached: Ctrl-C stops the app and PostgreSQL)`)
      await Promise.race([result.exited, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))])
      await stopHost(config.dataHome)
      return { summary: 'stopped', data: { url: result.url }, endedByInterrupt: true }
    }
    return {
      summary,
      data: { url: result.url, databaseUrl: result.databaseUrl, counts: result.health?.counts, schemaVersion: result.health?.schemaVersion, snapshot: name, prepared: result.state.prepared, mode: result.state.mode, runtime: 'host' },
    }
  },
})

function describePrepared(prepared: string | undefined): string {
  return prepared === 'warm' ? 'warm start from the cached cluster' : prepared === 'imported' ? 'snapshot imported' : prepared === 'kept' ? 'existing data kept' : 'database prepared'
}
